import {
  disposeAll,
  eventually,
  gqlOk,
  newWorkflow,
  onDispose,
  startApp,
  subscribe,
  wsClient,
} from "./support/harness";
import { APPEND_NODE } from "./support/documents";
import { startRedisServer } from "./support/redis-process";

afterAll(disposeAll);

describe("Redis behind Sentinel", () => {
  it("carries events when the API finds the master through REDIS_SENTINELS", async () => {
    const master = await startRedisServer({ onDispose });
    const sentinel = await startRedisServer({ onDispose, sentinelOf: { name: "wg", port: master.port } });

    const api = await startApp({
      redisUrl: undefined,
      redisSentinel: { sentinels: [{ host: "127.0.0.1", port: sentinel.port }], name: "wg" },
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
