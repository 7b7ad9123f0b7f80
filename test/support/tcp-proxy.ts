import { createConnection, createServer, type AddressInfo, type Socket } from "node:net";
import { onDispose } from "./harness";

/** A TCP proxy in front of a real service, able to simulate it becoming unreachable. */
export interface TcpProxy {
  /** The local port clients connect to. */
  readonly port: number;
  /**
   * Cuts every open connection and drops new ones at once, as if the service were down. With
   * `hold`, new connections are accepted but wait, unanswered, until `resume()` forwards them (a
   * network that is slow to come back): a browser then logs no failed connection.
   */
  pause(options?: { hold?: boolean }): void;
  /** Forwards connections again, the held ones first. */
  resume(): void;
  /**
   * Round trips forwarded so far, over all connections: each time a client sends after the
   * service last answered it (or first) counts one, so pipelined messages count once.
   */
  roundTrips(): number;
  /** Stops listening and cuts every connection. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) forwarding to `target` (default: the host and port of
 * NEO4J_URI). Its closing is registered with the harness's `onDispose`.
 */
export async function startTcpProxy(target: { host: string; port: number } = neo4jAddress()): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let paused = false;
  let hold = false;
  const held: Socket[] = [];
  let closed: Promise<void> | undefined;
  let roundTrips = 0;

  const track = (socket: Socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    // A cut connection errors on the other side: that is the point, not a test failure.
    socket.on("error", () => socket.destroy());
  };

  const forward = (client: Socket) => {
    if (client.destroyed) return;
    const upstream = createConnection({ host: target.host, port: target.port });
    track(upstream);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    let awaitingAnswer = false;
    client.on("data", () => {
      if (!awaitingAnswer) roundTrips += 1;
      awaitingAnswer = true;
    });
    upstream.on("data", () => (awaitingAnswer = false));
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const server = createServer((client) => {
    track(client);
    if (!paused) return forward(client);
    if (hold) held.push(client);
    else client.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });

  const destroyAll = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };

  const proxy: TcpProxy = {
    port: (server.address() as AddressInfo).port,
    pause(options = {}) {
      paused = true;
      hold = options.hold ?? false;
      destroyAll();
    },
    roundTrips: () => roundTrips,
    resume() {
      paused = false;
      for (const client of held.splice(0)) forward(client);
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        paused = true;
        server.close(() => resolve());
        destroyAll();
      });
      return closed;
    },
  };
  onDispose(() => proxy.close());
  return proxy;
}

/** Host and port of NEO4J_URI (Bolt's default port when it has none). */
function neo4jAddress(): { host: string; port: number } {
  const uri = process.env.NEO4J_URI;
  if (!uri) throw new Error("NEO4J_URI is not set");
  const parsed = new URL(uri);
  return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : 7687 };
}
