import { randomUUID } from "node:crypto";
import {
  disposeAll,
  eventually,
  gql,
  gqlOk,
  newWorkflow,
  startApp,
  subscribe,
  wsClient,
  onDispose,
  testServicesEnv,
  type RunningApp,
} from "./support/harness";
import { APPEND_NODE, APPEND_NODES } from "./support/documents";
import { spawnApi } from "./support/api-process";

const NODE_ADDED = /* GraphQL */ `
  subscription ($workflowId: ID!, $branchId: ID) {
    nodeAdded(workflowId: $workflowId, branchId: $branchId) {
      id
      seq
      depth
      content
      branchId
      parent {
        id
      }
      pathToRoot {
        seq
      }
    }
  }
`;

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(disposeAll);

function liveSubscription(wsUrl: string, workflowId: string, query = NODE_ADDED, variables = {}) {
  return subscribe(wsClient(wsUrl), query, { workflowId, ...variables });
}

describe("nodeAdded", () => {
  it("streams each appended node with computed fields (parent, depth, pathToRoot)", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const sub = liveSubscription(api.wsUrl, workflowId);
    await waitUntilSubscribed(api, workflowId);
    const appended = await gqlOk(api.url, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "first" },
    });
    const event = (await sub.next()).nodeAdded;
    expect(event).toMatchObject({
      id: appended.appendNode.id,
      seq: 1,
      depth: 1,
      content: "first",
      parent: { id: rootId },
      pathToRoot: [{ seq: 0 }, { seq: 1 }],
    });
  });

  it("delivers a batch's nodes in seq order", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const sub = liveSubscription(
      api.wsUrl,
      workflowId,
      `subscription($workflowId: ID!) { nodeAdded(workflowId: $workflowId) { seq } }`,
    );
    await waitUntilSubscribed(api, workflowId);
    const input = Array.from({ length: 20 }, (_, i) => ({
      workflowId,
      parentId: rootId,
      type: "ACTION",
      content: `a${i}`,
    }));
    await gqlOk(api.url, APPEND_NODES, { input });
    const seqs = [];
    for (let i = 0; i < 20; i++) seqs.push((await sub.next()).nodeAdded.seq);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("with branchId, streams only that branch's nodes", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const fork = await gqlOk(
      api.url,
      `mutation($from: ID!) { forkBranch(input: {fromNodeId: $from, name: "side"}) { id } }`,
      {
        from: rootId,
      },
    );
    const other = fork.forkBranch.id;
    const sub = liveSubscription(api.wsUrl, workflowId, NODE_ADDED, { branchId: other });
    await waitUntilSubscribed(api, workflowId);
    await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "main" } });
    const wanted = await gqlOk(api.url, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "other", branchId: other },
    });
    const event = (await sub.next()).nodeAdded;
    expect(event).toMatchObject({ id: wanted.appendNode.id, branchId: other, content: "other" });
    expect(branchId).not.toBe(other);
  });

  it("answers NOT_FOUND for an unknown workflow", async () => {
    const sub = subscribe(wsClient(api.wsUrl), NODE_ADDED, { workflowId: randomUUID() });
    await expect(sub.next(5000)).rejects.toThrow(/"code":"NOT_FOUND"/);
  });

  it("reads once per event for many subscribers that select the same computed fields", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const client = wsClient(api.wsUrl);
    const subs = Array.from({ length: 5 }, () => subscribe(client, NODE_ADDED, { workflowId }));
    await waitUntilSubscribed(api, workflowId, 5);
    const before = api.app.loaderStats.queries;
    await gql(api.url, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "x" } });
    const events = await Promise.all(subs.map((s) => s.next()));
    expect(new Set(events.map((e) => e.nodeAdded.pathToRoot.length))).toEqual(new Set([2]));
    // The mutation selects only stored fields (no read); the five subscribers share one read.
    expect(api.app.loaderStats.queries - before).toBe(1);
  });

  it("reaches a subscriber on one API process from a write through another process", async () => {
    const other = await spawnApi({ env: testServicesEnv(), onDispose });
    const { workflowId, rootId } = await newWorkflow(other.url);
    const sub = liveSubscription(api.wsUrl, workflowId);
    await waitUntilSubscribed(api, workflowId);
    const appended = await gqlOk(other.url, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "from the other process" },
    });
    expect((await sub.next()).nodeAdded).toMatchObject({
      id: appended.appendNode.id,
      content: "from the other process",
    });
    // and the other process shuts down cleanly on SIGTERM
    expect(await other.signal("SIGTERM")).toBe(0);
  });
});

/** Waits until the app holds `count` live subscriptions on the workflow (Redis SUBSCRIBE acknowledged). */
async function waitUntilSubscribed(app: RunningApp, workflowId: string, count = 1) {
  await eventually(() => app.app.liveSubscribers(workflowId) >= count);
}
