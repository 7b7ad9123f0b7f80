import { randomBytes } from "node:crypto";
import type { Driver } from "neo4j-driver";
import type { TokenClaims } from "../src/auth/sign-token";
import { systemCaller } from "../src/domain/audit";
import { pruneBranch } from "../src/domain/prune-branch";
import type { Store } from "../src/domain/store";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { codeOf, createCallers, type Callers } from "./support/callers";
import { disposeAll, onDispose, startApp, subscribe, testDriver, testStore } from "./support/harness";
import type { RunningApp } from "./support/harness";

/**
 * Branch pruning end to end, with authentication on: ana owns the workflows; ben may read them
 * (and, in one test, is left out of a restricted branch). A prune removes the branch, its nodes
 * and the branches forked from it from every read path; references from outside refuse it unless
 * forced; the BRANCH_PRUNED event tells each reader only what it could see.
 */

// Each test makes a few dozen requests; on a shared, loaded machine that can take over a minute.
jest.setTimeout(180_000);

const SECRET = randomBytes(32).toString("hex");
const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
// A writer by role, with only READ access to ana's workflows: the grant is what refuses him.
const BEN: TokenClaims = { sub: "ben", roles: ["writer"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };

let api: RunningApp;
let as: Callers;
let store: Store;
let raw: Driver;
beforeAll(async () => {
  api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
  });
  as = createCallers(api, SECRET, onDispose);
  store = testStore();
  raw = testDriver();
  onDispose(() => raw.close());
});
afterAll(disposeAll);

const GRANT = `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`;
const VISIBILITY = `mutation ($input: SetBranchVisibilityInput!) { setBranchVisibility(input: $input) { id } }`;
const STATUS = `mutation ($input: SetBranchStatusInput!) { setBranchStatus(input: $input) { id } }`;
const FORK = `mutation ($input: ForkBranchInput!) { forkBranch(input: $input) { id } }`;
const ADD_DECISION = `mutation ($input: AddDecisionInput!) { addDecision(input: $input) { id options { id branchId } } }`;
const CHOOSE = `mutation ($input: ChooseOptionInput!) { chooseOption(input: $input) { id } }`;
const ADD_MONITOR = `mutation ($input: AddMonitorInput!) { addMonitor(input: $input) { id } }`;
const PRUNE = /* GraphQL */ `
  mutation ($input: PruneBranchInput!) {
    pruneBranch(input: $input) {
      workflowId
      branchId
      seq
      prunedBranchIds
      nodeCount
      droppedReferences {
        kind
        fromId
        toId
      }
    }
  }
`;
const PRUNE_MANY = /* GraphQL */ `
  mutation ($input: PruneBranchesInput!) {
    pruneBranches(input: $input) {
      workflowId
      prunedBranchIds
      pruned {
        branchId
        prunedBranchIds
      }
      refused {
        branchId
        code
        reason
      }
    }
  }
`;
const EVENTS = /* GraphQL */ `
  subscription ($id: ID!, $after: Int) {
    workflowEvents(workflowId: $id, afterSeq: $after) {
      seq
      kind
      prunedBranchIds
      prunedNodeCount
      node {
        id
      }
    }
  }
`;
const READ_ALL = /* GraphQL */ `
  query ($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      lastSeq
      nodeCount
      mermaid
      branches {
        id
      }
    }
    workflowNodes(where: { workflowId: { eq: $id } }, sort: [{ seq: ASC }]) {
      id
      pathToRoot {
        id
      }
      options {
        id
      }
      chosenOption {
        id
      }
      monitors {
        id
      }
      children {
        id
      }
    }
    branches(where: { workflowId: { eq: $id } }) {
      id
    }
    history(workflowId: $id) {
      edges {
        node {
          id
        }
      }
    }
    workflowEvents(workflowId: $id, afterSeq: -1) {
      seq
      kind
      prunedBranchIds
      prunedNodeCount
      node {
        id
      }
    }
    decisionPoints(workflowId: $id) {
      decision {
        id
      }
      options {
        id
      }
      chosen {
        id
      }
    }
  }
`;
const AUDIT = /* GraphQL */ `
  query ($where: AuditLogWhere) {
    auditLog(where: $where, first: 50) {
      edges {
        node {
          principal
          operation
          outcome
          targetIds
          details
        }
      }
    }
  }
`;

async function start(name: string) {
  const data = await as.ok(ANA, START_WORKFLOW, { input: { name, systemPrompt: "prune me" } });
  const workflowId = data.startWorkflow.id as string;
  await as.ok(ANA, GRANT, { input: { workflowId, principal: "ben", access: "READ" } });
  return {
    workflowId,
    rootId: data.startWorkflow.root.id as string,
    mainId: data.startWorkflow.root.branchId as string,
  };
}

async function append(workflowId: string, parentId: string, content: string, extra: Record<string, unknown> = {}) {
  const data = await as.ok(ANA, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content, ...extra } });
  return data.appendNode as { id: string; seq: number; branchId: string };
}

/**
 * root → m1 (main); root → a1 → a2 (branch X); a1 → y1 (branch Y, forked from X); an empty
 * branch Z forked at a2.
 */
async function tree(name: string) {
  const w = await start(name);
  const m1 = await append(w.workflowId, w.rootId, "main step");
  const a1 = await append(w.workflowId, w.rootId, "side plan");
  const a2 = await append(w.workflowId, a1.id, "side detail");
  const y1 = await append(w.workflowId, a1.id, "side fork");
  const z = await as.ok(ANA, FORK, { input: { fromNodeId: a2.id, name: "empty" } });
  return { ...w, m1, a1, a2, y1, X: a1.branchId, Y: y1.branchId, Z: z.forkBranch.id as string };
}

async function stored(query: string, params: Record<string, unknown>) {
  const result = await raw.executeQuery(query, params);
  return result.records.map((r) => r.toObject());
}

const ids = (list: { id: string }[]) => list.map((x) => x.id);

describe("pruneBranch", () => {
  it("removes the branch, its nodes and the branches forked from it from every read path, and writes to it are NOT_FOUND", async () => {
    const t = await tree("prune-basic");
    const before = await as.ok(ANA, READ_ALL, { id: t.workflowId });
    expect(before.workflows[0].nodeCount).toBe(5);

    const res = await as.ok(ANA, PRUNE, { input: { branchId: t.X } });
    expect(res.pruneBranch).toMatchObject({ workflowId: t.workflowId, branchId: t.X, nodeCount: 3 });
    expect(res.pruneBranch.prunedBranchIds).toEqual([t.X, t.Y, t.Z]);
    expect(res.pruneBranch.seq).toBe(before.workflows[0].lastSeq + 1);

    for (const who of [ANA, BEN, ADMIN]) {
      const after = await as.ok(who, READ_ALL, { id: t.workflowId });
      expect(after.workflows[0].nodeCount).toBe(2);
      expect(after.workflows[0].lastSeq).toBe(res.pruneBranch.seq);
      expect(ids(after.workflows[0].branches)).toEqual([t.mainId]);
      expect(ids(after.branches)).toEqual([t.mainId]);
      expect(ids(after.workflowNodes)).toEqual([t.rootId, t.m1.id]);
      expect(ids(after.workflowNodes[0].children)).toEqual([t.m1.id]);
      expect(ids(after.workflowNodes[1].pathToRoot)).toEqual([t.rootId, t.m1.id]);
      expect(after.history.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([t.rootId, t.m1.id]);
      expect(after.workflows[0].mermaid).not.toContain("side");
      const events = after.workflowEvents as { seq: number; kind: string; node: { id: string } | null }[];
      expect(events.map((e) => e.node?.id ?? e.kind)).toEqual([t.rootId, t.m1.id, "BRANCH_PRUNED"]);
      expect(events.at(-1)).toMatchObject({ prunedBranchIds: [t.X, t.Y, t.Z], prunedNodeCount: 3 });
    }
    const left = await stored(
      `MATCH (x) WHERE (x:WorkflowNode AND x.id IN $nodes) OR (x:Branch AND x.id IN $branches) OR x:PruningBranch
       RETURN count(x) AS n`,
      { nodes: [t.a1.id, t.a2.id, t.y1.id], branches: [t.X, t.Y, t.Z] },
    );
    expect(Number(left[0].n)).toBe(0);

    const under = await as.post(ANA, APPEND_NODE, {
      input: { workflowId: t.workflowId, parentId: t.a2.id, type: "MESSAGE", content: "late" },
    });
    expect(codeOf(under)).toBe("NOT_FOUND");
    const onBranch = await as.post(ANA, APPEND_NODE, {
      input: { workflowId: t.workflowId, parentId: t.a1.id, branchId: t.X, type: "MESSAGE", content: "late" },
    });
    expect(codeOf(onBranch)).toBe("NOT_FOUND");
    const status = await as.post(ANA, STATUS, { input: { branchId: t.Y, status: "COMPLETED" } });
    expect(codeOf(status)).toBe("NOT_FOUND");
  });

  it("returns the stored result for the same input again, without a new event, and audits each call", async () => {
    const t = await tree("prune-idempotent");
    const first = await as.ok(ANA, PRUNE, { input: { branchId: t.X } });
    const again = await as.ok(ANA, PRUNE, { input: { branchId: t.X } });
    expect(again).toEqual(first);
    const read = await as.ok(ANA, READ_ALL, { id: t.workflowId });
    expect(read.workflows[0].lastSeq).toBe(first.pruneBranch.seq);
    const log = await as.ok(ANA, AUDIT, { where: { workflowId: t.workflowId, operation: "pruneBranch" } });
    const entries = log.auditLog.edges.map((e: { node: Record<string, unknown> }) => e.node);
    expect(entries).toHaveLength(2);
    expect(entries.every((e: Record<string, unknown>) => e.principal === "ana" && e.outcome === "OK")).toBe(true);
    expect(entries.map((e: { targetIds: string[] }) => e.targetIds)).toContainEqual([t.X, t.Y, t.Z]);
  });

  it("refuses the main branch (BAD_USER_INPUT), a reader (FORBIDDEN) and an unknown branch (NOT_FOUND), each audited", async () => {
    const t = await tree("prune-refused");
    const main = await as.post(ANA, PRUNE, { input: { branchId: t.mainId } });
    expect(codeOf(main)).toBe("BAD_USER_INPUT");
    const reader = await as.post(BEN, PRUNE, { input: { branchId: t.X } });
    expect(codeOf(reader)).toBe("FORBIDDEN");
    const unknown = await as.post(ANA, PRUNE, { input: { branchId: "00000000-0000-4000-8000-000000000000" } });
    expect(codeOf(unknown)).toBe("NOT_FOUND");
    const read = await as.ok(ANA, READ_ALL, { id: t.workflowId });
    expect(read.workflows[0].nodeCount).toBe(5);
    const log = await as.ok(ADMIN, AUDIT, { where: { workflowId: t.workflowId, operation: "pruneBranch" } });
    const outcomes = log.auditLog.edges.map((e: { node: { outcome: string; principal: string } }) => e.node);
    expect(outcomes).toEqual([
      { principal: "ana", operation: "pruneBranch", outcome: "BAD_USER_INPUT", targetIds: [t.mainId], details: null },
    ]);
    const refusals = await as.ok(ADMIN, AUDIT, { where: { principal: "ben", operation: "pruneBranch" } });
    expect(refusals.auditLog.edges.length).toBeGreaterThanOrEqual(1);
    expect(refusals.auditLog.edges[0].node.outcome).toBe("FORBIDDEN");
  });

  it("refuses a branch referenced from outside with CONFLICT listing the references; force drops them and records them", async () => {
    const t = await tree("prune-references");
    const decision = await as.ok(ANA, ADD_DECISION, {
      input: {
        workflowId: t.workflowId,
        parentId: t.m1.id,
        content: "which?",
        options: [{ content: "fresh" }, { existingNodeId: t.a2.id }],
      },
    });
    const decisionId = decision.addDecision.id as string;
    const fresh = (decision.addDecision.options as { id: string }[]).find((o) => o.id !== t.a2.id)!;
    await as.ok(ANA, CHOOSE, { input: { decisionId, optionId: t.a2.id } });
    const monitor = await as.ok(ANA, ADD_MONITOR, {
      input: { workflowId: t.workflowId, parentId: t.m1.id, content: "watch", targetIds: [t.a1.id] },
    });
    const monitorId = monitor.addMonitor.id as string;
    const expected = [
      { kind: "CHOSEN_OPTION", fromId: decisionId, toId: t.a2.id },
      { kind: "MONITORS", fromId: monitorId, toId: t.a1.id },
      { kind: "OPTION_OF", fromId: decisionId, toId: t.a2.id },
      { kind: "WATCHED_BRANCH", fromId: monitorId, toId: t.X },
    ];
    const before = await as.ok(ANA, READ_ALL, { id: t.workflowId });

    const refused = await as.post(ANA, PRUNE, { input: { branchId: t.X } });
    expect(codeOf(refused)).toBe("CONFLICT");
    expect(refused.errors![0].extensions!.references).toEqual(expected);
    expect(await as.ok(ANA, READ_ALL, { id: t.workflowId })).toEqual(before);

    const forced = await as.ok(ANA, PRUNE, { input: { branchId: t.X, force: true } });
    expect(forced.pruneBranch.droppedReferences).toEqual(expected);
    const after = await as.ok(ANA, READ_ALL, { id: t.workflowId });
    const node = (id: string) => after.workflowNodes.find((n: { id: string }) => n.id === id);
    expect(ids(node(decisionId).options)).toEqual([fresh.id]);
    expect(node(decisionId).chosenOption).toBeNull();
    expect(node(monitorId).monitors).toEqual([]);
    expect(after.decisionPoints).toEqual([{ decision: { id: decisionId }, options: [{ id: fresh.id }], chosen: null }]);
    const watched = await stored(`MATCH (m:WorkflowNode {id: $id}) RETURN m.watchBranchIds AS w`, { id: monitorId });
    expect(watched[0].w).toEqual([]);

    const log = await as.ok(ANA, AUDIT, { where: { workflowId: t.workflowId, operation: "pruneBranch" } });
    const entries = log.auditLog.edges.map((e: { node: Record<string, any> }) => e.node);
    expect(entries.map((e: { outcome: string }) => e.outcome)).toEqual(["OK", "CONFLICT"]);
    expect(entries[1].details).toEqual({ references: expected });
    expect(entries[0].details).toEqual({ droppedReferences: expected });
  });

  it("streams BRANCH_PRUNED to every subscriber, telling a reader only of the branches it could see", async () => {
    const t = await tree("prune-visibility");
    // Y (forked from X) is restricted to ana: ben never saw it. R, forked at m1, is restricted too.
    await as.ok(ANA, VISIBILITY, { input: { branchId: t.Y, restrictedTo: ["ana"] } });
    await append(t.workflowId, t.m1.id, "main goes on");
    const r1 = await append(t.workflowId, t.m1.id, "hidden work");
    await as.ok(ANA, VISIBILITY, { input: { branchId: r1.branchId, restrictedTo: ["ana"] } });

    // Both streams resume after the workflow's last event, so none is missed while they start.
    const { lastSeq } = (await as.ok(ANA, READ_ALL, { id: t.workflowId })).workflows[0];
    const anas = subscribe(await as.client(ANA), EVENTS, { id: t.workflowId, after: lastSeq });
    const bens = subscribe(await as.client(BEN), EVENTS, { id: t.workflowId, after: lastSeq });

    const restricted = await as.post(BEN, PRUNE, { input: { branchId: r1.branchId } });
    expect(codeOf(restricted)).toBe("NOT_FOUND");
    expect(JSON.stringify(restricted)).not.toContain(r1.id);

    await as.ok(ANA, PRUNE, { input: { branchId: r1.branchId } });
    const pruned = await as.ok(ANA, PRUNE, { input: { branchId: t.X } });
    const last = await append(t.workflowId, t.rootId, "after");

    const anaSaw = [(await anas.next()).workflowEvents, (await anas.next()).workflowEvents];
    expect(anaSaw[0]).toMatchObject({ kind: "BRANCH_PRUNED", prunedBranchIds: [r1.branchId], prunedNodeCount: 1 });
    expect(anaSaw[1]).toMatchObject({
      kind: "BRANCH_PRUNED",
      seq: pruned.pruneBranch.seq,
      prunedBranchIds: [t.X, t.Y, t.Z],
      prunedNodeCount: 3,
    });
    // ben: nothing of R's prune, and X's without Y (and Y's node).
    const benSaw = (await bens.next()).workflowEvents;
    expect(benSaw).toMatchObject({
      kind: "BRANCH_PRUNED",
      seq: pruned.pruneBranch.seq,
      prunedBranchIds: [t.X, t.Z],
      prunedNodeCount: 2,
    });
    expect(JSON.stringify(benSaw)).not.toContain(t.Y);
    expect((await bens.next()).workflowEvents.node.id).toBe(last.id);

    const bensLog = (await as.ok(BEN, READ_ALL, { id: t.workflowId })).workflowEvents as { kind: string }[];
    const prunes = bensLog.filter((e) => e.kind === "BRANCH_PRUNED");
    expect(prunes).toEqual([
      {
        seq: pruned.pruneBranch.seq,
        kind: "BRANCH_PRUNED",
        prunedBranchIds: [t.X, t.Z],
        prunedNodeCount: 2,
        node: null,
      },
    ]);
    expect(JSON.stringify(bensLog)).not.toContain(r1.branchId);
  });

  it("answers workflowAt and replays of moments before the prune without the pruned part", async () => {
    const t = await tree("prune-history");
    const beforeSeq = t.y1.seq;
    const pruned = await as.ok(ANA, PRUNE, { input: { branchId: t.X } });
    const at = await as.ok(
      ANA,
      `query ($id: ID!, $seq: Int!) { workflowAt(workflowId: $id, seq: $seq) { seq nodes { id } branches { branch { id } } } }`,
      {
        id: t.workflowId,
        seq: beforeSeq,
      },
    );
    expect(at.workflowAt.seq).toBe(beforeSeq);
    expect(ids(at.workflowAt.nodes)).toEqual([t.rootId, t.m1.id]);
    expect(at.workflowAt.branches.map((b: { branch: { id: string } }) => b.branch.id)).toEqual([t.mainId]);

    const replay = subscribe(
      await as.client(ANA),
      `subscription ($id: ID!) { replayWorkflow(workflowId: $id, speed: 0) { seq kind prunedBranchIds node { id } } }`,
      { id: t.workflowId },
    );
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push((await replay.next()).replayWorkflow);
    expect(seen.map((e) => e.node?.id ?? e.kind)).toEqual([t.rootId, t.m1.id, "BRANCH_PRUNED"]);
    expect(seen[2]).toMatchObject({ seq: pruned.pruneBranch.seq, prunedBranchIds: [t.X, t.Y, t.Z] });
  });

  it("finishes an interrupted prune on a retry with the same input; meanwhile readers see none of it", async () => {
    const t = await tree("prune-resume");
    const a3 = await append(t.workflowId, t.a2.id, "more");
    const caller = { ...systemCaller("pruneBranch", { branchId: t.X }), audit: undefined };
    const partial = await pruneBranch(store, { branchId: t.X }, caller, { batchSize: 1, maxBatches: 2 });
    expect(partial.prunedBranchIds).toEqual([t.X, t.Y, t.Z]);
    const half = await stored(`MATCH (n:WorkflowNode) WHERE n.id IN $ids RETURN count(n) AS n`, {
      ids: [t.a1.id, t.a2.id, a3.id, t.y1.id],
    });
    expect(Number(half[0].n)).toBeGreaterThan(0);
    for (const who of [ANA, BEN, ADMIN]) {
      const read = await as.ok(who, READ_ALL, { id: t.workflowId });
      expect(ids(read.workflowNodes)).toEqual([t.rootId, t.m1.id]);
      expect(ids(read.branches)).toEqual([t.mainId]);
      expect(read.workflows[0].nodeCount).toBe(2);
      expect(read.workflowEvents.map((e: { kind: string }) => e.kind)).toEqual([
        "NODE_ADDED",
        "NODE_ADDED",
        "BRANCH_PRUNED",
      ]);
      // Reads that check access in their own statement (no access lookup first) leave it out too.
      const PATH_ALONE = `query ($id: ID!) { workflowNodes(where: { id: { eq: $id } }) { pathToRoot { id } } }`;
      expect((await as.ok(who, PATH_ALONE, { id: a3.id })).workflowNodes).toEqual([]);
      expect((await as.ok(who, PATH_ALONE, { id: t.m1.id })).workflowNodes).toEqual([
        { pathToRoot: [{ id: t.rootId }, { id: t.m1.id }] },
      ]);
      const alone = await as.ok(who, `query ($id: ID!) { history(workflowId: $id) { edges { node { id } } } }`, {
        id: t.workflowId,
      });
      expect(alone.history.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([t.rootId, t.m1.id]);
    }
    const write = await as.post(ANA, APPEND_NODE, {
      input: { workflowId: t.workflowId, parentId: a3.id, type: "MESSAGE", content: "late" },
    });
    expect(codeOf(write)).toBe("NOT_FOUND");

    const done = await as.ok(ANA, PRUNE, { input: { branchId: t.X } });
    expect(done.pruneBranch).toMatchObject({ seq: partial.seq, nodeCount: 4, prunedBranchIds: [t.X, t.Y, t.Z] });
    const left = await stored(
      `MATCH (x) WHERE (x:WorkflowNode AND x.id IN $nodes) OR x:PruningBranch AND x.workflowId = $w RETURN count(x) AS n`,
      { nodes: [t.a1.id, t.a2.id, a3.id, t.y1.id], w: t.workflowId },
    );
    expect(Number(left[0].n)).toBe(0);
  });
});

describe("pruneBranches", () => {
  it("prunes the branches with the status whose last activity is older, refusing one whose fork is still active", async () => {
    const w = await start("prune-bulk");
    const m1 = await append(w.workflowId, w.rootId, "main");
    const old1 = await append(w.workflowId, w.rootId, "abandoned one");
    const old2 = await append(w.workflowId, w.rootId, "abandoned two");
    const child = await append(w.workflowId, old2.id, "child");
    const keep = await append(w.workflowId, old2.id, "active fork of abandoned two");
    const active = await append(w.workflowId, w.rootId, "active");
    await as.ok(ANA, STATUS, { input: { branchId: old1.branchId, status: "ABANDONED" } });
    await as.ok(ANA, STATUS, { input: { branchId: old2.branchId, status: "ABANDONED" } });
    expect(child.branchId).toBe(old2.branchId);

    const past = await as.ok(ANA, PRUNE_MANY, {
      input: { workflowId: w.workflowId, olderThan: "2000-01-01T00:00:00Z" },
    });
    expect(past.pruneBranches).toEqual({ workflowId: w.workflowId, prunedBranchIds: [], pruned: [], refused: [] });

    const reader = await as.post(BEN, PRUNE_MANY, {
      input: { workflowId: w.workflowId, olderThan: new Date().toISOString() },
    });
    expect(codeOf(reader)).toBe("FORBIDDEN");

    const now = new Date(Date.now() + 1000).toISOString();
    const res = await as.ok(ANA, PRUNE_MANY, { input: { workflowId: w.workflowId, olderThan: now } });
    expect(res.pruneBranches.prunedBranchIds).toEqual([old1.branchId]);
    expect(res.pruneBranches.refused).toEqual([
      { branchId: old2.branchId, code: "DESCENDANT_KEPT", reason: expect.stringContaining(keep.branchId) },
    ]);
    const read = await as.ok(ANA, READ_ALL, { id: w.workflowId });
    expect(ids(read.branches).sort()).toEqual([w.mainId, old2.branchId, keep.branchId, active.branchId].sort());
    expect(read.workflowNodes.map((n: { id: string }) => n.id)).not.toContain(old1.id);
    expect(ids(read.workflowNodes)).toContain(m1.id);

    const log = await as.ok(ANA, AUDIT, { where: { workflowId: w.workflowId, operation: "pruneBranches" } });
    const entries = log.auditLog.edges.map((e: { node: Record<string, unknown> }) => e.node);
    expect(entries.map((e: { outcome: string }) => e.outcome)).toEqual(["OK", "FORBIDDEN", "OK"]);
    expect(entries[0]).toMatchObject({
      principal: "ana",
      outcome: "OK",
      targetIds: [old1.branchId],
      details: {
        refused: [{ branchId: old2.branchId, code: "DESCENDANT_KEPT", references: [] }],
        droppedReferences: [],
      },
    });
  });
});
