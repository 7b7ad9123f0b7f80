import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";

/** A loopback port nothing listens on (bound, read back, closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the Redis pub/sub engine while Redis is unreachable", () => {
  it("rejects each subscribe and leaves no unhandled rejection that would end the process", async () => {
    const script = path.join(__dirname, "fixtures/subscribe-during-outage.ts");
    const child = spawnSync("npx", ["--no-install", "tsx", script, String(await closedPort())], {
      encoding: "utf8",
      timeout: 60000,
    });
    expect({ status: child.status, lines: child.stdout.trim().split("\n") }).toEqual({
      status: 0,
      lines: ["rejected", "rejected", "rejected", "alive"],
    });
  }, 70000);
});
