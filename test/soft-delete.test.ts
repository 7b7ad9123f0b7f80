import { randomBytes } from "node:crypto";
import type { Client } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import { signToken } from "../src/auth/sign-token";
import type { TokenClaims } from "../src/auth/sign-token";
import { exportOver } from "./support/archive";
import { codeOf, createCallers, type Callers } from "./support/callers";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { disposeAll, onDispose, startApp, testConfig, testDriver, type RunningApp } from "./support/harness";
import { ADMIN_SCOPE } from "../src/auth/access-scope";
import { deleteWorkflow } from "../src/domain/soft-delete";
import type { Store } from "../src/domain/store";
import { DEFAULT_INPUT_LIMITS } from "../src/domain/validation";

/**
 * Soft delete, restore, deletedWorkflows and per-workflow retention, end to end with
 * authentication on: ana owns each workflow, ben has READ on it, root is an admin, eve a stranger.
 * A deleted workflow is absent from every read path for all of them (admins included, outside
 * deletedWorkflows), writes to it are NOT_FOUND, its live streams end with WORKFLOW_DELETED, and a
 * restore brings back exactly the answers of before.
 */

const SECRET = randomBytes(32).toString("hex");
/** The tests that read every path several times, on a machine that may be busy. */
const SLOW_MS = 180_000;
const RESTORE_DAYS = 30;

let api: RunningApp;
beforeAll(async () => {
  api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
    retention: { ...testConfig().retention, deletedRetentionDays: RESTORE_DAYS, retentionDays: undefined },
  });
});
afterAll(disposeAll);

let made: Callers | undefined;
const callers = () => (made ??= createCallers(api, SECRET, onDispose));
const post = (as: TokenClaims, query: string, variables: Record<string, unknown> = {}) =>
  callers().post(as, query, variables);
const ok = (as: TokenClaims, query: string, variables: Record<string, unknown> = {}) =>
  callers().ok(as, query, variables);

// Subs of their own: other suites share the database (and deletedWorkflows lists by owner).
const RUN = randomBytes(4).toString("hex");
const ANA: TokenClaims = { sub: `ana-${RUN}`, roles: ["writer"] };
const BEN: TokenClaims = { sub: `ben-${RUN}`, roles: ["writer"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };
const EVE: TokenClaims = { sub: `eve-${RUN}`, roles: ["writer"] };
const BOB: TokenClaims = { sub: `bob-${RUN}`, roles: ["writer"] };

const DELETE = `mutation ($id: ID!) { deleteWorkflow(workflowId: $id) { id name deletedAt deletedBy purgeAfter } }`;
const RESTORE = `mutation ($id: ID!) { restoreWorkflow(workflowId: $id) { id name lastSeq myAccess } }`;
const SET_RETENTION = `mutation ($input: SetRetentionInput!) { setRetention(input: $input) { id retentionDays expiresAt createdAt } }`;
const DELETED = /* GraphQL */ `
  query ($first: Int, $after: String) {
    deletedWorkflows(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          name
          deletedAt
          deletedBy
          purgeAfter
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;
const GRANT = `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`;
const ADD_DECISION = `mutation ($input: AddDecisionInput!) { addDecision(input: $input) { id options { id } } }`;
const CHOOSE = `mutation ($input: ChooseOptionInput!) { chooseOption(input: $input) { id } }`;
const FORK = `mutation ($input: ForkBranchInput!) { forkBranch(input: $input) { id } }`;
const COMPLETE = `mutation ($input: CompleteWorkflowInput!) { completeWorkflow(input: $input) { id } }`;

/** Every read path, each answering data or an error code: a snapshot to compare before and after. */
const READS: Record<string, string> = {
  workflows: `query ($id: ID!) { workflows(where: { id: { eq: $id } }) { id name status nodeCount mermaid branches { id name } root { id children { id } } } }`,
  nodes: `query ($id: ID!) { workflowNodes(where: { workflowId: { eq: $id } }, sort: [{ seq: ASC }]) { id seq content pathToRoot { id } } }`,
  branches: `query ($id: ID!) { branches(where: { workflowId: { eq: $id } }) { id name status length head { id } forkedFrom { id } mermaid } }`,
  history: `query ($id: ID!) { history(workflowId: $id) { edges { node { id seq } } } }`,
  decisionPoints: `query ($id: ID!) { decisionPoints(workflowId: $id) { decision { id } options { id } chosen { id } } }`,
  crossBranchMonitors: `query ($id: ID!) { crossBranchMonitors(workflowId: $id) { monitor { id } target { id } } }`,
  workflowAt: `query ($id: ID!) { workflowAt(workflowId: $id, seq: 3) { seq nodes { id } } }`,
  workflowEvents: `query ($id: ID!) { workflowEvents(workflowId: $id, first: 1000) { seq kind status node { id } branch { id } } }`,
};

/** What `as` reads of the workflow on every path: data when allowed, else the error code. */
async function readAll(as: TokenClaims, workflowId: string) {
  const out: Record<string, unknown> = {};
  for (const [name, query] of Object.entries(READS)) {
    const res = await post(as, query, { id: workflowId });
    out[name] = res.errors ? { code: codeOf(res) } : res.data;
  }
  return out;
}

/** What a caller sees of a workflow that is absent: empty lists and NOT_FOUND, never its data. */
const ABSENT = {
  workflows: { workflows: [] },
  nodes: { workflowNodes: [] },
  branches: { branches: [] },
  history: { code: "NOT_FOUND" },
  decisionPoints: { code: "NOT_FOUND" },
  crossBranchMonitors: { code: "NOT_FOUND" },
  workflowAt: { code: "NOT_FOUND" },
  workflowEvents: { code: "NOT_FOUND" },
};

/** ana's workflow with a decision chosen, a fork, a monitor across branches; ben has READ. */
async function richWorkflow(name = "soft delete") {
  const started = await ok(ANA, START_WORKFLOW, { input: { name, systemPrompt: "keep me" } });
  const workflowId = started.startWorkflow.id as string;
  const rootId = started.startWorkflow.root.id as string;
  const decision = await ok(ANA, ADD_DECISION, {
    input: { workflowId, parentId: rootId, content: "which?", options: [{ content: "a" }, { content: "b" }] },
  });
  const [a] = decision.addDecision.options as { id: string }[];
  await ok(ANA, CHOOSE, { input: { decisionId: decision.addDecision.id, optionId: a.id } });
  const fork = await ok(ANA, FORK, { input: { fromNodeId: rootId, name: "side" } });
  await ok(ANA, APPEND_NODE, {
    input: { workflowId, parentId: rootId, branchId: fork.forkBranch.id, type: "MESSAGE", content: "side work" },
  });
  await ok(ANA, `mutation ($input: AddMonitorInput!) { addMonitor(input: $input) { id } }`, {
    input: { workflowId, parentId: a.id, content: "watch the side", targetIds: [rootId] },
  });
  await ok(ANA, GRANT, { input: { workflowId, principal: BEN.sub, access: "READ" } });
  return { workflowId, rootId };
}

/** A plain workflow of ana's. */
async function plainWorkflow(name = "plain") {
  const started = await ok(ANA, START_WORKFLOW, { input: { name, systemPrompt: "plain" } });
  return { workflowId: started.startWorkflow.id as string, rootId: started.startWorkflow.root.id as string };
}

/** What graphql-ws and graphql-sse clients share: subscribe with a sink. */
interface SubscribingClient {
  subscribe(
    payload: { query: string; variables: Record<string, unknown> },
    sink: { next(value: any): void; error(error: unknown): void; complete(): void },
  ): () => void;
}

/** A graphql-sse client (distinct connections) as `as`, over /graphql/stream. */
function sseClient(as: TokenClaims): SubscribingClient {
  const client = createSseClient({
    url: `${api.origin}/graphql/stream`,
    retryAttempts: 0,
    headers: async () => ({ authorization: `Bearer ${await signToken(SECRET, as)}` }),
  });
  onDispose(() => client.dispose());
  return client as SubscribingClient;
}

/** A subscription (graphql-ws or graphql-sse) that records its events, errors and completion. */
function watch(client: Client | SubscribingClient, query: string, variables: Record<string, unknown>) {
  const events: Record<string, any>[] = [];
  const errors: unknown[] = [];
  let onEvent = () => undefined as void;
  const completed = new Promise<void>((resolve, reject) => {
    const stop = (client as SubscribingClient).subscribe(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) errors.push(value.errors);
          else events.push(value.data as Record<string, any>);
          onEvent();
        },
        error: (error) => {
          errors.push(error);
          reject(new Error(`subscription failed: ${JSON.stringify(error)}`));
        },
        complete: resolve,
      },
    );
    onDispose(stop);
  });
  completed.catch(() => undefined);
  /** Resolves once `count` events have arrived. */
  const received = (count: number) =>
    new Promise<void>((resolve) => {
      onEvent = () => {
        if (events.length >= count) resolve();
      };
      onEvent();
    });
  return { events, errors, completed, received };
}

/** Audit entries of a workflow, oldest first, as stored. */
async function auditOf(workflowId: string) {
  const driver = testDriver();
  const result = await driver.executeQuery(
    "MATCH (a:AuditEntry {workflowId: $workflowId}) RETURN a {.operation, .principal, .outcome} AS a ORDER BY a.at, a.id",
    { workflowId },
  );
  return result.records.map((r) => r.get("a") as { operation: string; principal: string; outcome: string });
}

describe("deleteWorkflow", () => {
  it(
    "hides the workflow from every read path for the grantee, the owner and admins",
    async () => {
      const { workflowId } = await richWorkflow();
      // Sanity: the paths do show the workflow before (else the check below could not fail).
      const before = await readAll(BEN, workflowId);
      expect(Object.values(before).every((answer) => !("code" in (answer as object)))).toBe(true);
      expect((before.nodes as { workflowNodes: unknown[] }).workflowNodes.length).toBe(6);

      const deleted = await ok(ANA, DELETE, { id: workflowId });
      const answer = deleted.deleteWorkflow as Record<string, string>;
      expect(answer).toMatchObject({ id: workflowId, name: "soft delete", deletedBy: ANA.sub });
      expect(Date.parse(answer.purgeAfter) - Date.parse(answer.deletedAt)).toBe(RESTORE_DAYS * 86_400_000);

      for (const as of [BEN, ANA, ADMIN]) expect([as.sub, await readAll(as, workflowId)]).toEqual([as.sub, ABSENT]);
      // The export route, authorized like a read.
      for (const as of [ANA, ADMIN]) expect((await exportOver(api.origin, SECRET, workflowId, as)).status).toBe(404);
      // Stored as the retention job reads it: a Neo4j DateTime and the label.
      const stored = await testDriver().executeQuery(
        "MATCH (w:Workflow {id: $id}) RETURN w:HiddenWorkflow AS hidden, valueType(w.deletedAt) AS type",
        { id: workflowId },
      );
      expect(stored.records[0].get("hidden")).toBe(true);
      expect(stored.records[0].get("type")).toMatch(/^ZONED DATETIME/);
    },
    SLOW_MS,
  );

  it("refuses writes with NOT_FOUND, and answers the same when deleted again", async () => {
    const { workflowId, rootId } = await richWorkflow();
    await ok(ANA, GRANT, { input: { workflowId, principal: BOB.sub, access: "WRITE" } });
    const lastSeqOf = async () => {
      const result = await testDriver().executeQuery("MATCH (w:Workflow {id: $id}) RETURN w.lastSeq AS s", {
        id: workflowId,
      });
      return Number(result.records[0].get("s"));
    };
    const seqBefore = await lastSeqOf();
    const first = await ok(ANA, DELETE, { id: workflowId });
    const again = await ok(ANA, DELETE, { id: workflowId });
    expect(again).toEqual(first);
    expect((await ok(ADMIN, DELETE, { id: workflowId })).deleteWorkflow).toEqual(first.deleteWorkflow);
    const append = { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "late" } };
    for (const as of [ANA, ADMIN, BOB]) {
      expect(codeOf(await post(as, APPEND_NODE, append))).toBe("NOT_FOUND");
      expect(codeOf(await post(as, FORK, { input: { fromNodeId: rootId } }))).toBe("NOT_FOUND");
      expect(codeOf(await post(as, COMPLETE, { input: { workflowId } }))).toBe("NOT_FOUND");
      expect(codeOf(await post(as, GRANT, { input: { workflowId, principal: "x", access: "READ" } }))).toBe(
        "NOT_FOUND",
      );
      expect(codeOf(await post(as, SET_RETENTION, { input: { workflowId, retentionDays: 5 } }))).toBe("NOT_FOUND");
    }
    // ben (READ) and eve (nothing) cannot even tell it was there.
    for (const as of [BEN, EVE]) expect(codeOf(await post(as, DELETE, { id: workflowId }))).toBe("NOT_FOUND");
    // The deletion drew one seq; nothing refused was written.
    expect(await lastSeqOf()).toBe(seqBefore + 1);
  });

  it("is for owners and admins: a READ or WRITE grantee is FORBIDDEN, a stranger NOT_FOUND", async () => {
    const { workflowId } = await plainWorkflow();
    await ok(ANA, GRANT, { input: { workflowId, principal: BEN.sub, access: "WRITE" } });
    expect(codeOf(await post(BEN, DELETE, { id: workflowId }))).toBe("FORBIDDEN");
    expect(codeOf(await post(EVE, DELETE, { id: workflowId }))).toBe("NOT_FOUND");
    expect(codeOf(await post({ sub: ANA.sub, roles: ["reader"] }, DELETE, { id: workflowId }))).toBe("FORBIDDEN");
    expect((await ok(ADMIN, DELETE, { id: workflowId })).deleteWorkflow.deletedBy).toBe("root");
  });

  it("ends live subscriptions (WebSocket and SSE) with WORKFLOW_DELETED, and refuses new ones with NOT_FOUND", async () => {
    const { workflowId, rootId } = await richWorkflow();
    const appended = await ok(ANA, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "last words" },
    });
    const from = { id: workflowId, after: appended.appendNode.seq - 1 };
    const query = `subscription ($id: ID!, $after: Int) { workflowEvents(workflowId: $id, afterSeq: $after) { seq kind node { id } } }`;
    const streams = [
      ...(await Promise.all([ANA, BEN, ADMIN].map(async (as) => watch(await callers().client(as), query, from)))),
      watch(sseClient(BEN), query, from),
    ];
    const nodeAdded = watch(
      await callers().client(BEN),
      `subscription ($id: ID!, $after: Int) { nodeAdded(workflowId: $id, afterSeq: $after) { id } }`,
      from,
    );
    // Each stream is running once it has delivered the append.
    await Promise.all([...streams, nodeAdded].map((s) => s.received(1)));
    await ok(ANA, DELETE, { id: workflowId });
    for (const s of streams) {
      await s.completed;
      expect(s.events.map((e) => e.workflowEvents)).toEqual([
        { seq: appended.appendNode.seq, kind: "NODE_ADDED", node: { id: appended.appendNode.id } },
        { seq: appended.appendNode.seq + 1, kind: "WORKFLOW_DELETED", node: null },
      ]);
      expect(s.errors).toEqual([]);
    }
    await nodeAdded.completed;
    expect(nodeAdded.events).toEqual([{ nodeAdded: { id: appended.appendNode.id } }]);
    for (const as of [ANA, ADMIN]) {
      const refused = watch(await callers().client(as), query, { id: workflowId, after: -1 });
      await refused.completed.catch(() => undefined);
      expect(refused.events).toEqual([]);
      expect(JSON.stringify(refused.errors)).toContain("NOT_FOUND");
    }
  });

  it("ends a stream whose WORKFLOW_DELETED publish was lost, from the log at its next resync", async () => {
    const { workflowId, rootId } = await plainWorkflow();
    await ok(ANA, GRANT, { input: { workflowId, principal: BEN.sub, access: "READ" } });
    const appended = await ok(ANA, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "before" },
    });
    const query = `subscription ($id: ID!, $after: Int) { workflowEvents(workflowId: $id, afterSeq: $after) { seq kind } }`;
    const from = { id: workflowId, after: appended.appendNode.seq - 1 };
    const streams = [
      watch(await callers().client(BEN), query, from),
      watch(await callers().client(ADMIN), query, from),
    ];
    await Promise.all(streams.map((s) => s.received(1)));
    // Deleted straight through the domain: committed, never published.
    const config = testConfig();
    const store: Store = {
      driver: testDriver(),
      database: config.neo4j.database,
      ...DEFAULT_INPUT_LIMITS,
      maxContentBytes: config.maxContentBytes,
      maxBatchSize: config.maxBatchSize,
    };
    const deleted = await deleteWorkflow(store, ADMIN_SCOPE, workflowId);
    expect(deleted.events).toHaveLength(1);
    for (const s of streams) {
      await s.completed;
      expect(s.events.map((e) => e.workflowEvents)).toEqual([
        { seq: appended.appendNode.seq, kind: "NODE_ADDED" },
        { seq: appended.appendNode.seq + 1, kind: "WORKFLOW_DELETED" },
      ]);
    }
  });
});

describe("restoreWorkflow", () => {
  it(
    "brings back exactly the answers of before, for the owner and the grantee",
    async () => {
      const { workflowId } = await richWorkflow();
      const before = { ana: await readAll(ANA, workflowId), ben: await readAll(BEN, workflowId) };
      const lastSeq = Math.max(
        ...(before.ana.workflowEvents as { workflowEvents: { seq: number }[] }).workflowEvents.map((e) => e.seq),
      );
      await ok(ANA, DELETE, { id: workflowId });
      const restored = await ok(ANA, RESTORE, { id: workflowId });
      expect(restored.restoreWorkflow).toEqual({
        id: workflowId,
        name: "soft delete",
        lastSeq: lastSeq + 2,
        myAccess: "OWNER",
      });
      for (const [as, was] of [
        [ANA, before.ana],
        [BEN, before.ben],
      ] as const) {
        const now = await readAll(as, workflowId);
        const events = (now.workflowEvents as { workflowEvents: { seq: number; kind: string }[] }).workflowEvents;
        // The log keeps the deletion and the restore, each with its own seq, after what was there.
        expect(events.slice(-2).map((e) => [e.seq, e.kind])).toEqual([
          [lastSeq + 1, "WORKFLOW_DELETED"],
          [lastSeq + 2, "WORKFLOW_RESTORED"],
        ]);
        expect({ ...now, workflowEvents: { workflowEvents: events.slice(0, -2) } }).toEqual(was);
      }
      expect(codeOf(await post(ANA, RESTORE, { id: workflowId }))).toBe("CONFLICT");
      // Writes work again.
      const root = (before.ana.nodes as { workflowNodes: { id: string }[] }).workflowNodes[0].id;
      await ok(ANA, APPEND_NODE, { input: { workflowId, parentId: root, type: "MESSAGE", content: "back" } });
    },
    SLOW_MS,
  );

  it("lets admins restore, the owner only within the window, and no one else", async () => {
    const { workflowId } = await plainWorkflow();
    await ok(ANA, GRANT, { input: { workflowId, principal: BEN.sub, access: "WRITE" } });
    expect(codeOf(await post(BEN, RESTORE, { id: workflowId }))).toBe("FORBIDDEN");
    expect(codeOf(await post(ANA, RESTORE, { id: workflowId }))).toBe("CONFLICT");
    await ok(ANA, DELETE, { id: workflowId });
    for (const as of [BEN, EVE]) expect(codeOf(await post(as, RESTORE, { id: workflowId }))).toBe("NOT_FOUND");
    expect((await ok(ADMIN, RESTORE, { id: workflowId })).restoreWorkflow.myAccess).toBe("OWNER");

    await ok(ANA, DELETE, { id: workflowId });
    // Deleted 31 days ago: past the 30-day window.
    await testDriver().executeQuery(
      "MATCH (w:Workflow {id: $id}) SET w.deletedAt = w.deletedAt - duration({days: 31})",
      { id: workflowId },
    );
    const late = await post(ANA, RESTORE, { id: workflowId });
    expect(codeOf(late)).toBe("CONFLICT");
    const deadline = late.errors![0].extensions!.purgeAfter as string;
    expect(late.errors![0].message).toContain(deadline);
    expect(Date.parse(deadline)).toBeLessThan(Date.now());
  });

  it("does not end a stream resumed from before a deletion that was undone", async () => {
    const { workflowId, rootId } = await plainWorkflow();
    await ok(ANA, DELETE, { id: workflowId });
    await ok(ANA, RESTORE, { id: workflowId });
    const query = `subscription ($id: ID!) { workflowEvents(workflowId: $id, afterSeq: -1) { seq kind } }`;
    const s = watch(await callers().client(ANA), query, { id: workflowId });
    const caughtUp = s.received(4);
    await ok(ANA, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "again" } });
    await caughtUp;
    expect(s.events.map((e) => e.workflowEvents.kind)).toEqual([
      "NODE_ADDED",
      "WORKFLOW_DELETED",
      "WORKFLOW_RESTORED",
      "NODE_ADDED",
    ]);
  });
});

describe("deletedWorkflows", () => {
  it("lists newest deletion first in keyset pages: all for admins, their own for owners", async () => {
    const mine = [await plainWorkflow("d1"), await plainWorkflow("d2"), await plainWorkflow("d3")];
    const started = await ok(BEN, START_WORKFLOW, { input: { name: "bens", systemPrompt: "ben's" } });
    const bens = started.startWorkflow.id as string;
    // ana has READ on ben's: not hers to list.
    await ok(BEN, GRANT, { input: { workflowId: bens, principal: ANA.sub, access: "READ" } });
    for (const w of mine) await ok(ANA, DELETE, { id: w.workflowId });
    await ok(BEN, DELETE, { id: bens });
    const newestFirst = [...mine.map((w) => w.workflowId)].reverse();

    const pageOf = async (as: TokenClaims, first: number, after?: string) =>
      (await ok(as, DELETED, { first, after })).deletedWorkflows as {
        edges: { cursor: string; node: { id: string; name: string; deletedBy: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    // ana's own, two per page.
    const one = await pageOf(ANA, 2);
    expect(one.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(0, 2));
    expect(one.pageInfo.hasNextPage).toBe(true);
    const two = await pageOf(ANA, 2, one.pageInfo.endCursor!);
    expect(two.edges[0].node).toMatchObject({ id: newestFirst[2], name: "d1", deletedBy: ANA.sub });
    const all = await pageOf(ANA, 1000);
    expect(all.edges.map((e) => e.node.id)).not.toContain(bens);
    expect((await pageOf(BEN, 1000)).edges.map((e) => e.node.id)).toEqual(expect.arrayContaining([bens]));
    expect((await pageOf(BEN, 1000)).edges.map((e) => e.node.id)).not.toContain(newestFirst[0]);
    expect((await pageOf(EVE, 10)).edges).toEqual([]);
    // Other suites may delete workflows meanwhile: the admin's list holds these, in this order.
    const ours = new Set([bens, ...newestFirst]);
    const admin = (await pageOf(ADMIN, 1000)).edges.map((e) => e.node.id).filter((id) => ours.has(id));
    expect(admin).toEqual([bens, ...newestFirst]);
    // A restored workflow leaves the list.
    await ok(ANA, RESTORE, { id: newestFirst[0] });
    expect((await pageOf(ANA, 1)).edges[0].node.id).toBe(newestFirst[1]);
    expect(codeOf(await post(ANA, DELETED, { first: 1001 }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await post(ANA, DELETED, { first: 1, after: "nope" }))).toBe("BAD_USER_INPUT");
  });
});

describe("retention settings", () => {
  it("stores retentionDays at start and with setRetention, with expiresAt counted from creation", async () => {
    const started = await ok(
      ANA,
      `mutation ($input: StartWorkflowInput!) { startWorkflow(input: $input) { id createdAt retentionDays expiresAt } }`,
      {
        input: { name: "kept", systemPrompt: "x", retentionDays: 7 },
      },
    );
    const w = started.startWorkflow as { id: string; createdAt: string; retentionDays: number; expiresAt: string };
    expect(w.retentionDays).toBe(7);
    expect(Date.parse(w.expiresAt) - Date.parse(w.createdAt)).toBe(7 * 86_400_000);
    const set = await ok(ANA, SET_RETENTION, { input: { workflowId: w.id, retentionDays: 90 } });
    expect(set.setRetention.retentionDays).toBe(90);
    expect(Date.parse(set.setRetention.expiresAt) - Date.parse(w.createdAt)).toBe(90 * 86_400_000);
    const stored = await testDriver().executeQuery(
      "MATCH (w:Workflow {id: $id}) RETURN w.retentionDays AS days, valueType(w.retentionDays) AS type",
      { id: w.id },
    );
    expect([Number(stored.records[0].get("days")), stored.records[0].get("type")]).toEqual([90, "INTEGER NOT NULL"]);
    const cleared = await ok(ANA, SET_RETENTION, { input: { workflowId: w.id, retentionDays: null } });
    expect(cleared.setRetention).toMatchObject({ retentionDays: null, expiresAt: null });
  });

  it("refuses days outside 1..36500 with BAD_USER_INPUT and writes nothing; owners and admins only", async () => {
    const { workflowId } = await plainWorkflow();
    for (const days of [0, -1, 36501]) {
      const res = await post(ANA, SET_RETENTION, { input: { workflowId, retentionDays: days } });
      expect([days, codeOf(res), res.errors![0].extensions!.field]).toEqual([
        days,
        "BAD_USER_INPUT",
        "input.retentionDays",
      ]);
      const start = await post(ANA, START_WORKFLOW, { input: { name: "n", systemPrompt: "p", retentionDays: days } });
      expect(codeOf(start)).toBe("BAD_USER_INPUT");
    }
    await ok(ANA, GRANT, { input: { workflowId, principal: BEN.sub, access: "WRITE" } });
    expect(codeOf(await post(BEN, SET_RETENTION, { input: { workflowId, retentionDays: 3 } }))).toBe("FORBIDDEN");
    expect(codeOf(await post(EVE, SET_RETENTION, { input: { workflowId, retentionDays: 3 } }))).toBe("NOT_FOUND");
    const res = await ok(ADMIN, SET_RETENTION, { input: { workflowId, retentionDays: 36500 } });
    expect(res.setRetention.retentionDays).toBe(36500);
  });

  it("applies the server's RETENTION_DAYS to workflows that set none", async () => {
    const other = await startApp({
      auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
      retention: { ...testConfig().retention, retentionDays: 10 },
    });
    const them = createCallers(other, SECRET, onDispose);
    const started = await them.ok(
      ANA,
      `mutation ($input: StartWorkflowInput!) { startWorkflow(input: $input) { id createdAt retentionDays expiresAt } }`,
      {
        input: { name: "default", systemPrompt: "x" },
      },
    );
    const w = started.startWorkflow as { createdAt: string; retentionDays: null; expiresAt: string };
    expect(w.retentionDays).toBeNull();
    expect(Date.parse(w.expiresAt) - Date.parse(w.createdAt)).toBe(10 * 86_400_000);
  });
});

describe("audit trail", () => {
  it("records each delete, restore and setRetention once, and a refused one with its outcome", async () => {
    const { workflowId } = await plainWorkflow();
    await ok(ANA, GRANT, { input: { workflowId, principal: BEN.sub, access: "READ" } });
    expect(codeOf(await post(BEN, DELETE, { id: workflowId }))).toBe("FORBIDDEN");
    await ok(ANA, SET_RETENTION, { input: { workflowId, retentionDays: 3 } });
    await ok(ANA, DELETE, { id: workflowId });
    await ok(ANA, DELETE, { id: workflowId });
    // The owner still reads its deleted workflow's entries; ben (READ) never did.
    const LOG = `query ($id: ID!) { auditLog(where: { workflowId: $id }) { edges { node { operation outcome } } } }`;
    const owners = (await ok(ANA, LOG, { id: workflowId })).auditLog.edges as { node: { operation: string } }[];
    expect(owners[0].node).toEqual({ operation: "deleteWorkflow", outcome: "OK" });
    expect((await ok(BEN, LOG, { id: workflowId })).auditLog.edges).toEqual([]);
    await ok(ADMIN, RESTORE, { id: workflowId });
    expect(codeOf(await post(ANA, SET_RETENTION, { input: { workflowId, retentionDays: 0 } }))).toBe("BAD_USER_INPUT");
    const entries = (await auditOf(workflowId)).filter(
      (e) => e.operation !== "grantWorkflowAccess" && e.operation !== "startWorkflow",
    );
    expect(entries).toEqual([
      { operation: "deleteWorkflow", principal: BEN.sub, outcome: "FORBIDDEN" },
      { operation: "setRetention", principal: ANA.sub, outcome: "OK" },
      { operation: "deleteWorkflow", principal: ANA.sub, outcome: "OK" },
      { operation: "deleteWorkflow", principal: ANA.sub, outcome: "OK" },
      { operation: "restoreWorkflow", principal: "root", outcome: "OK" },
    ]);
  });
});
