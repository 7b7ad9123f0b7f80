import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitForRedis } from "../src/infra/redis";
import {
  APPEND_NODE,
  disposeAll,
  eventually,
  gqlOk,
  newWorkflow,
  onDispose,
  startApp,
  subscribe,
  wsClient,
} from "./support/harness";

afterAll(disposeAll);

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Runs redis-server with the given arguments until the suite ends. */
function redisServer(args: string[]) {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  onDispose(() => {
    child.kill("SIGKILL");
  });
  return child;
}

describe("Redis behind Sentinel", () => {
  it("carries events when the API finds the master through REDIS_SENTINELS", async () => {
    const [masterPort, sentinelPort] = [await freePort(), await freePort()];
    redisServer(["--port", String(masterPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    await waitForRedis(`redis://127.0.0.1:${masterPort}`, 10000);
    const dir = mkdtempSync(path.join(tmpdir(), "sentinel-"));
    const conf = path.join(dir, "sentinel.conf");
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor wg 127.0.0.1 ${masterPort} 1\n`);
    redisServer([conf, "--sentinel"]);
    await waitForRedis(`redis://127.0.0.1:${sentinelPort}`, 10000);

    const api = await startApp({
      redisUrl: undefined,
      redisSentinel: { sentinels: [{ host: "127.0.0.1", port: sentinelPort }], name: "wg" },
    });
    const { workflowId, rootId } = await newWorkflow(api.url);
    const sub = subscribe(wsClient(api.wsUrl), `subscription($w: ID!) { nodeAdded(workflowId: $w) { content } }`, {
      w: workflowId,
    });
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    await gqlOk(api.url, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "via sentinel" },
    });
    expect((await sub.next()).nodeAdded.content).toBe("via sentinel");
    const ready = await fetch(`${api.origin}/readyz`);
    expect(ready.status).toBe(200);
  });
});
