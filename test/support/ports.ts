import { createServer, type AddressInfo } from "node:net";

/**
 * A free TCP port on 127.0.0.1, closed again so that a service can bind it. Another process may
 * take it in between; callers that must not race bind port 0 themselves.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
