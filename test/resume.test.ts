import { ADMIN_SCOPE } from "../src/auth/access-scope";
import { appendNodes } from "../src/domain/append-nodes";
import type { Store } from "../src/domain/store";
import { DEFAULT_INPUT_LIMITS } from "../src/domain/validation";
import {
  disposeAll,
  eventually,
  gql,
  gqlOk,
  newWorkflow,
  startApp,
  subscribe,
  testConfig,
  testDriver,
  wsClient,
  type RunningApp,
} from "./support/harness";
import { APPEND_NODE } from "./support/documents";

const EVENTS = /* GraphQL */ `
  subscription ($workflowId: ID!, $afterSeq: Int) {
    workflowEvents(workflowId: $workflowId, afterSeq: $afterSeq) {
      seq
      kind
      node {
        content
      }
    }
  }
`;

let api: RunningApp;
let store: Store;
beforeAll(async () => {
  api = await startApp({ eventResyncIntervalMs: 300 });
  store = { driver: testDriver(), database: testConfig().neo4j.database, ...DEFAULT_INPUT_LIMITS, maxBatchSize: 100 };
});
afterAll(disposeAll);

const append = (workflowId: string, parentId: string, content: string) =>
  gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } }).then((d) => d.appendNode);

/** Writes a node the way a crashed instance would: committed to Neo4j, never published. */
const appendUnpublished = async (workflowId: string, parentId: string, content: string) =>
  (await appendNodes(store, [{ workflowId, parentId, type: "MESSAGE", content }], ADMIN_SCOPE)).nodes[0];

describe("resumable streams", () => {
  it("with afterSeq, deliver the stored events after it, then live ones, with no gap or duplicate at the seam", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    let parent = rootId;
    for (let i = 1; i <= 5; i++) parent = (await append(workflowId, parent, `stored ${i}`)).id;
    const sub = subscribe(wsClient(api.wsUrl), EVENTS, { workflowId, afterSeq: 2 });
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    const live = await append(workflowId, parent, "live");
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await sub.next()).workflowEvents);
    expect(seen.map((e) => [e.seq, e.node.content])).toEqual([
      [3, "stored 3"],
      [4, "stored 4"],
      [5, "stored 5"],
      [6, "live"],
    ]);
    expect(live.seq).toBe(6);
  });

  it("with afterSeq -1, replay the whole log from the root's event", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    await append(workflowId, rootId, "one");
    const sub = subscribe(wsClient(api.wsUrl), EVENTS, { workflowId, afterSeq: -1 });
    expect((await sub.next()).workflowEvents).toMatchObject({ seq: 0, kind: "NODE_ADDED" });
    expect((await sub.next()).workflowEvents).toMatchObject({ seq: 1, node: { content: "one" } });
  });

  it("fill a gap from Neo4j when a publish never arrived", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const sub = subscribe(wsClient(api.wsUrl), EVENTS, { workflowId });
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    const lost = await appendUnpublished(workflowId, rootId, "never published");
    await append(workflowId, lost.id, "published");
    expect((await sub.next()).workflowEvents).toMatchObject({ seq: 1, node: { content: "never published" } });
    expect((await sub.next()).workflowEvents).toMatchObject({ seq: 2, node: { content: "published" } });
  });

  it("deliver a lost last event on the periodic check, with nothing after it to reveal the gap", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const sub = subscribe(wsClient(api.wsUrl), EVENTS, { workflowId });
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    await appendUnpublished(workflowId, rootId, "lost and alone");
    expect((await sub.next(5000)).workflowEvents).toMatchObject({ seq: 1, node: { content: "lost and alone" } });
  });

  it("with afterSeq on nodeAdded too, deliver the stored nodes after it", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const a = await append(workflowId, rootId, "a");
    await append(workflowId, a.id, "b");
    const sub = subscribe(
      wsClient(api.wsUrl),
      `subscription($w: ID!) { nodeAdded(workflowId: $w, afterSeq: 1) { seq content } }`,
      { w: workflowId },
    );
    expect((await sub.next()).nodeAdded).toEqual({ seq: 2, content: "b" });
  });
});

describe("Query.workflowEvents", () => {
  it("pages through the stored log, events that are not nodes included", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const a = await append(workflowId, rootId, "a");
    await gqlOk(api.url, `mutation($b: ID!) { setBranchStatus(input: {branchId: $b, status: COMPLETED}) { id } }`, {
      b: branchId,
    });
    await append(workflowId, a.id, "b");
    const page = (after: number | null, first: number) =>
      gqlOk(
        api.url,
        `query($w: ID!, $after: Int, $first: Int) { workflowEvents(workflowId: $w, afterSeq: $after, first: $first) {
          seq kind branch { status } node { content } } }`,
        { w: workflowId, after, first },
      ).then((d) => d.workflowEvents);
    expect(await page(null, 2)).toEqual([
      { seq: 0, kind: "NODE_ADDED", branch: { status: "COMPLETED" }, node: { content: "You are a test agent." } },
      { seq: 1, kind: "NODE_ADDED", branch: { status: "COMPLETED" }, node: { content: "a" } },
    ]);
    expect(await page(1, 10)).toEqual([
      { seq: 2, kind: "BRANCH_STATUS_CHANGED", branch: { status: "COMPLETED" }, node: null },
      { seq: 3, kind: "NODE_ADDED", branch: { status: "COMPLETED" }, node: { content: "b" } },
    ]);
    const tooMany = await gql(api.url, `query($w: ID!) { workflowEvents(workflowId: $w, first: 5000) { seq } }`, {
      w: workflowId,
    });
    expect(tooMany.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  });
});
