import { randomBytes } from "node:crypto";
import type { TokenClaims } from "../src/auth/sign-token";
import { codeOf, createCallers, type Callers } from "./support/callers";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { disposeAll, eventually, onDispose, startApp, subscribe, testDriver } from "./support/harness";
import type { RunningApp } from "./support/harness";

/**
 * Per-workflow grants end to end, with authentication on and two users on one workflow: ana starts
 * (so owns) it; ben has no grant, then READ, then none again; carol reaches it through a group.
 * A workflow a caller may not read behaves as if it did not exist, in the generated queries, the
 * custom queries, the subscriptions and the writes.
 */

const SECRET = randomBytes(32).toString("hex");

let api: RunningApp;
beforeAll(async () => {
  api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
  });
});
afterAll(disposeAll);

let made: Callers | undefined;
const callers = () => (made ??= createCallers(api, SECRET, onDispose));
const post = (as: TokenClaims, query: string, variables: Record<string, unknown> = {}) =>
  callers().post(as, query, variables);
const ok = (as: TokenClaims, query: string, variables: Record<string, unknown> = {}) =>
  callers().ok(as, query, variables);
const client = (as: TokenClaims) => callers().client(as);

const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
// ben and carol are writers: the role gate lets them write, so only grants can stop them.
const BEN: TokenClaims = { sub: "ben", roles: ["writer"] };
const CAROL: TokenClaims = { sub: "carol", roles: ["writer"], groups: ["ops"] };
const DAVE: TokenClaims = { sub: "dave", roles: ["writer"], groups: ["sales"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };

const WORKFLOW = /* GraphQL */ `
  query ($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      id
      myAccess
      grants {
        principal
        access
      }
    }
  }
`;
const NODES = /* GraphQL */ `
  query ($id: ID!) {
    workflowNodes(where: { workflowId: { eq: $id } }) {
      id
    }
    branches(where: { workflowId: { eq: $id } }) {
      id
    }
  }
`;
const HISTORY = /* GraphQL */ `
  query ($id: ID!) {
    history(workflowId: $id) {
      edges {
        node {
          id
        }
      }
    }
  }
`;
const EVENTS = /* GraphQL */ `
  query ($id: ID!) {
    workflowEvents(workflowId: $id) {
      seq
    }
  }
`;
const DECISIONS = `query ($id: ID!) { decisionPoints(workflowId: $id) { decision { id } chosen { id } } }`;
const MONITORS = `query ($id: ID!) { crossBranchMonitors(workflowId: $id) { monitor { id } } }`;
const AT = `query ($id: ID!) { workflowAt(workflowId: $id, seq: 0) { seq } }`;
const GRANT = /* GraphQL */ `
  mutation ($input: GrantWorkflowAccessInput!) {
    grantWorkflowAccess(input: $input) {
      id
      grants {
        principal
        access
      }
    }
  }
`;
const REVOKE = /* GraphQL */ `
  mutation ($input: RevokeWorkflowAccessInput!) {
    revokeWorkflowAccess(input: $input) {
      id
    }
  }
`;
const ADD_DECISION = `mutation ($input: AddDecisionInput!) { addDecision(input: $input) { id options { id } } }`;
const CHOOSE = `mutation ($input: ChooseOptionInput!) { chooseOption(input: $input) { id } }`;
const APPEND_NODES = `mutation ($input: [AppendNodeInput!]!) { appendNodes(input: $input) { id } }`;
const ADD_MONITOR = `mutation ($input: AddMonitorInput!) { addMonitor(input: $input) { id } }`;
const SET_STATUS = `mutation ($input: SetBranchStatusInput!) { setBranchStatus(input: $input) { id status } }`;
const FORK = `mutation ($input: ForkBranchInput!) { forkBranch(input: $input) { id } }`;
const EVENTS_SUB = /* GraphQL */ `
  subscription ($id: ID!) {
    workflowEvents(workflowId: $id, afterSeq: -1) {
      seq
      node {
        id
        content
        pathToRoot {
          id
        }
      }
    }
  }
`;

/** ana's workflow: its id, root id and main branch id. */
async function anasWorkflow() {
  const data = await ok(ANA, START_WORKFLOW, { input: { name: "grants", systemPrompt: "shared work" } });
  const { id, root } = data.startWorkflow as { id: string; root: { id: string; branchId: string } };
  return { workflowId: id, rootId: root.id, branchId: root.branchId };
}

const append = (as: TokenClaims, workflowId: string, parentId: string, content: string) =>
  post(as, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } });

/** Everything ben may do only with READ: each answers `code` (or succeeds when null). */
async function expectReads(as: TokenClaims, workflowId: string, code: "NOT_FOUND" | null) {
  const listed = await ok(as, WORKFLOW, { id: workflowId });
  expect(listed.workflows).toHaveLength(code ? 0 : 1);
  const nodes = await ok(as, NODES, { id: workflowId });
  expect(nodes.workflowNodes.length > 0).toBe(!code);
  expect(nodes.branches.length > 0).toBe(!code);
  for (const query of [HISTORY, EVENTS, DECISIONS, MONITORS, AT]) {
    const res = await post(as, query, { id: workflowId });
    expect([query, codeOf(res) ?? null]).toEqual([query, code]);
  }
}

describe("workflow grants", () => {
  it("lets the owner alone see a new workflow, and says so in myAccess and grants", async () => {
    const { workflowId } = await anasWorkflow();
    const mine = await ok(ANA, WORKFLOW, { id: workflowId });
    expect(mine.workflows).toEqual([
      { id: workflowId, myAccess: "OWNER", grants: [{ principal: "ana", access: "OWNER" }] },
    ]);
    await expectReads(BEN, workflowId, "NOT_FOUND");
    const admin = await ok(ADMIN, WORKFLOW, { id: workflowId });
    expect(admin.workflows[0].myAccess).toBe("OWNER");
    expect(admin.workflows[0].grants).toEqual([{ principal: "ana", access: "OWNER" }]);
  });

  it("takes ben from nothing to READ and back: hidden, readable but not writable, hidden again", async () => {
    const { workflowId, rootId, branchId } = await anasWorkflow();
    const decision = await ok(ANA, ADD_DECISION, {
      input: { workflowId, parentId: rootId, content: "which?", options: [{ content: "a" }] },
    });
    const decisionId = decision.addDecision.id as string;
    const optionId = decision.addDecision.options[0].id as string;
    const nodeCount = 3;
    const writesAnswer = async (code: string) => {
      expect(codeOf(await append(BEN, workflowId, rootId, "ben was here"))).toBe(code);
      const batch = [{ workflowId, parentId: rootId, type: "MESSAGE", content: "batch" }];
      expect(codeOf(await post(BEN, APPEND_NODES, { input: batch }))).toBe(code);
      const question = { workflowId, parentId: rootId, content: "ben asks", options: [{ content: "x" }] };
      expect(codeOf(await post(BEN, ADD_DECISION, { input: question }))).toBe(code);
      expect(codeOf(await post(BEN, CHOOSE, { input: { decisionId, optionId } }))).toBe(code);
      const watch = { workflowId, parentId: rootId, content: "ben watches", targetIds: [rootId] };
      expect(codeOf(await post(BEN, ADD_MONITOR, { input: watch }))).toBe(code);
      expect(codeOf(await post(BEN, SET_STATUS, { input: { branchId, status: "ABANDONED" } }))).toBe(code);
      expect(codeOf(await post(BEN, FORK, { input: { fromNodeId: rootId } }))).toBe(code);
      const grantSelf = { input: { workflowId, principal: "ben", access: "OWNER" } };
      expect(codeOf(await post(BEN, GRANT, grantSelf))).toBe(code);
    };

    await expectReads(BEN, workflowId, "NOT_FOUND");
    await writesAnswer("NOT_FOUND");

    const granted = await ok(ANA, GRANT, { input: { workflowId, principal: "ben", access: "READ" } });
    expect(granted.grantWorkflowAccess.grants).toEqual([
      { principal: "ana", access: "OWNER" },
      { principal: "ben", access: "READ" },
    ]);
    await expectReads(BEN, workflowId, null);
    const seen = await ok(BEN, WORKFLOW, { id: workflowId });
    // Only owners and admins see the grants.
    expect(seen.workflows).toEqual([{ id: workflowId, myAccess: "READ", grants: [] }]);
    await writesAnswer("FORBIDDEN");

    await ok(ANA, REVOKE, { input: { workflowId, principal: "ben" } });
    await expectReads(BEN, workflowId, "NOT_FOUND");
    await writesAnswer("NOT_FOUND");
    // Nothing ben tried was written.
    const state = await ok(ANA, NODES, { id: workflowId });
    expect(state.workflowNodes).toHaveLength(nodeCount);
    expect(state.branches).toHaveLength(2);
    const chosen = await ok(ANA, DECISIONS, { id: workflowId });
    expect(chosen.decisionPoints).toEqual([{ decision: { id: decisionId }, chosen: null }]);
  });

  it("grants through a group: carol (in ops) writes, dave (not in ops) sees nothing", async () => {
    const { workflowId, rootId } = await anasWorkflow();
    await ok(ANA, GRANT, { input: { workflowId, principal: "group:ops", access: "WRITE" } });
    const carols = await ok(CAROL, WORKFLOW, { id: workflowId });
    expect(carols.workflows[0].myAccess).toBe("WRITE");
    expect((await append(CAROL, workflowId, rootId, "from ops")).errors).toBeUndefined();
    await expectReads(DAVE, workflowId, "NOT_FOUND");
    // WRITE is not OWNER: carol may not grant.
    const res = await post(CAROL, GRANT, { input: { workflowId, principal: "carol", access: "OWNER" } });
    expect(codeOf(res)).toBe("FORBIDDEN");
  });

  it("refuses to revoke the last owner, and lets an owner hand ownership on", async () => {
    const { workflowId } = await anasWorkflow();
    expect(codeOf(await post(ANA, REVOKE, { input: { workflowId, principal: "ana" } }))).toBe("CONFLICT");
    await ok(ANA, GRANT, { input: { workflowId, principal: "ben", access: "OWNER" } });
    // ana can no longer read what she handed on: the mutation answers null, not the workflow.
    expect((await ok(ANA, REVOKE, { input: { workflowId, principal: "ana" } })).revokeWorkflowAccess).toBeNull();
    expect((await ok(ANA, WORKFLOW, { id: workflowId })).workflows).toEqual([]);
    expect((await ok(BEN, WORKFLOW, { id: workflowId })).workflows[0].myAccess).toBe("OWNER");
  });

  it("refuses ben's subscriptions with NOT_FOUND while an admin's identical one streams", async () => {
    const { workflowId, rootId } = await anasWorkflow();
    const admin = subscribe(await client(ADMIN), EVENTS_SUB, { id: workflowId });
    const bens = subscribe(await client(BEN), EVENTS_SUB, { id: workflowId });
    const nodeAdded = subscribe(await client(BEN), `subscription ($id: ID!) { nodeAdded(workflowId: $id) { id } }`, {
      id: workflowId,
    });
    const monitor = await ok(ANA, ADD_MONITOR, {
      input: { workflowId, parentId: rootId, content: "watch", targetIds: [rootId] },
    });
    const replay = subscribe(
      await client(BEN),
      `subscription ($id: ID!) { replayWorkflow(workflowId: $id, speed: 0) { seq } }`,
      {
        id: workflowId,
      },
    );
    const activity = subscribe(
      await client(BEN),
      `subscription ($id: ID!) { monitoredActivity(monitorId: $id) { id } }`,
      { id: monitor.addMonitor.id },
    );
    expect((await admin.next()).workflowEvents.seq).toBe(0);
    const refused = [bens, nodeAdded, replay, activity];
    await eventually(() => refused.every((s) => s.errors.length > 0));
    for (const s of refused) expect(JSON.stringify(s.errors)).toContain("NOT_FOUND");
    expect((await admin.next()).workflowEvents.node.content).toBe("watch");
    expect((await append(ANA, workflowId, rootId, "private")).errors).toBeUndefined();
    expect((await admin.next()).workflowEvents.node.content).toBe("private");
    await expect(bens.next(200)).rejects.toThrow(/NOT_FOUND/);
  });

  it("streams to ben with READ the same events, with the same fields, as to the owner", async () => {
    const { workflowId, rootId } = await anasWorkflow();
    await ok(ANA, GRANT, { input: { workflowId, principal: "ben", access: "READ" } });
    const anas = subscribe(await client(ANA), EVENTS_SUB, { id: workflowId });
    const bens = subscribe(await client(BEN), EVENTS_SUB, { id: workflowId });
    expect((await anas.next()).workflowEvents.seq).toBe(0);
    expect((await bens.next()).workflowEvents.seq).toBe(0);
    expect((await append(ANA, workflowId, rootId, "for both")).errors).toBeUndefined();
    const [a, b] = [await anas.next(), await bens.next()];
    expect(b).toEqual(a);
    expect(b.workflowEvents.node.pathToRoot).toHaveLength(2);
  });

  it("ends ben's open subscription within seconds of the revocation, delivering nothing after it", async () => {
    const { workflowId, rootId } = await anasWorkflow();
    await ok(ANA, GRANT, { input: { workflowId, principal: "ben", access: "READ" } });
    const bensClient = await client(BEN);
    let completedAt = 0;
    const received: number[] = [];
    bensClient.subscribe<{ workflowEvents: { seq: number } }>(
      { query: EVENTS_SUB, variables: { id: workflowId } },
      {
        next: (value) => received.push(value.data!.workflowEvents.seq),
        error: () => undefined,
        complete: () => (completedAt = Date.now()),
      },
    );
    await eventually(() => received.includes(0));
    await ok(ANA, REVOKE, { input: { workflowId, principal: "ben" } });
    const revokedAt = Date.now();
    await eventually(() => completedAt > 0, 8000);
    expect(completedAt - revokedAt).toBeLessThan(5000);
    expect((await append(ANA, workflowId, rootId, "after revoke")).errors).toBeUndefined();
    expect(received).toEqual([0]);
  });

  it("keeps the index seek of a filtered generated query for a caller who is not an admin", async () => {
    const { workflowId } = await anasWorkflow();
    // Capture the Cypher @neo4j/graphql runs (its debug output), then ask Neo4j how it plans it.
    const statements: string[] = [];
    // Untyped, hence require: the `debug` logger @neo4j/graphql writes its Cypher to.
    const debug = require("debug") as {
      enable(ns: string): void;
      disable(): string;
      formatArgs: unknown;
      log: unknown;
    };
    const saved = { formatArgs: debug.formatArgs, log: debug.log };
    debug.enable("@neo4j/graphql:execution");
    debug.formatArgs = () => undefined;
    debug.log = (first: unknown) => void (typeof first === "string" && statements.push(first));
    try {
      expect((await ok(ANA, NODES, { id: workflowId })).workflowNodes).toHaveLength(1);
    } finally {
      debug.disable();
      Object.assign(debug, saved);
    }
    const read = statements.find((s) => /^(CYPHER 5\n)?MATCH \(this:WorkflowNode\)/.test(s));
    expect(read).toContain("$jwt.workflowIds");
    const session = testDriver().session();
    try {
      const plan = (await session.run(`EXPLAIN ${read!.replace(/^CYPHER 5\n/, "")}`)).summary.plan as unknown as {
        operatorType: string;
        children: [];
      };
      const operators: string[] = [];
      const walk = (op: { operatorType: string; children: [] }): void => {
        operators.push(op.operatorType.replace(/@.*/, ""));
        op.children.forEach(walk);
      };
      walk(plan);
      // A visibility rule evaluated per row in a subquery would scan every node first.
      expect(operators).toContain("NodeIndexSeek");
      expect(operators).not.toContain("NodeByLabelScan");
      expect(operators).not.toContain("Apply");
    } finally {
      await session.close();
    }
  });
});
