import { randomBytes, randomUUID } from "node:crypto";
import type { TokenClaims } from "../src/auth/sign-token";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { codeOf, createCallers, type Callers } from "./support/callers";
import { disposeAll, onDispose, startApp, testDriver, type RunningApp } from "./support/harness";

/**
 * Workflow analytics and the cross-workflow series end to end, with authentication on. ana owns a
 * workflow whose numbers the test knows (types, agents, usage, decisions), with a branch
 * restricted to carol (ben cannot see it) and a node restricted to ana (redacted for ben and carol).
 * Each caller's numbers must equal what the test wrote, less what that caller may not see.
 */

const SECRET = randomBytes(32).toString("hex");
const run = randomUUID().slice(0, 8);
// Fresh principals each run: the series counts every workflow a caller may read.
const ANA: TokenClaims = { sub: `ana-${run}`, roles: ["writer"] };
const BEN: TokenClaims = { sub: `ben-${run}`, roles: ["reader"] };
const CAROL: TokenClaims = { sub: `carol-${run}`, roles: ["reader"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };

let api: RunningApp;
let as: Callers;
beforeAll(async () => {
  api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
  });
  as = createCallers(api, SECRET, onDispose);
});
afterAll(disposeAll);

const GRANT = `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`;
const VISIBILITY = `mutation ($input: SetBranchVisibilityInput!) { setBranchVisibility(input: $input) { id } }`;
const ADD_DECISION = `mutation ($input: AddDecisionInput!) { addDecision(input: $input) { id options { id } } }`;
const CHOOSE = `mutation ($input: ChooseOptionInput!) { chooseOption(input: $input) { id } }`;
const COMPLETE = `mutation ($input: CompleteWorkflowInput!) { completeWorkflow(input: $input) { id } }`;

const USAGE = `{ nodes calls inputTokens outputTokens costUsd latencyMs }`;
const ANALYTICS = /* GraphQL */ `
  fragment All on WorkflowAnalytics {
    nodeCount
    byType { type count }
    byAgent { agentId usage ${USAGE} }
    byModel { model usage ${USAGE} }
    usage ${USAGE}
    errors
    branchesByStatus { status count }
    firstEventAt
    lastEventAt
    durationMs
    eventGapsMs { count p50 p95 max }
    decisions { total pending averageOptions maxOptions timeToChoiceMs { count p50 p95 max } }
    criticalPath { endNodeId nodeIds length durationMs }
  }
  query ($id: ID!, $branchId: ID!) {
    workflows(where: { id: { eq: $id } }) { analytics { ...All } }
    branches(where: { id: { eq: $branchId } }) { analytics { ...All } }
  }
`;

const usage = (model: string, inputTokens: number, outputTokens: number, costUsd: number, latencyMs: number) => ({
  usage: { model, inputTokens, outputTokens, costUsd, latencyMs },
});

interface Written {
  id: string;
  type: string;
  agentId: string | null;
  usage?: ReturnType<typeof usage>["usage"];
  secret?: boolean;
  redacted?: boolean;
}

/** One story for the whole file (the series counts every workflow its callers may read). */
let told: Promise<Story> | undefined;
const shared = () => (told ??= story());

interface Story {
  workflowId: string;
  mainBranch: string;
  secretBranch: string;
  nodes: Written[];
  decisionIds: string[];
}

async function story(): Promise<Story> {
  const started = await as.ok(ANA, START_WORKFLOW, {
    input: { name: "analytics", systemPrompt: "measure me", agentId: "planner" },
  });
  const workflowId = started.startWorkflow.id as string;
  const root = started.startWorkflow.root as { id: string; branchId: string };
  const nodes: Written[] = [{ id: root.id, type: "SYSTEM", agentId: "planner" }];
  const append = async (parentId: string, type: string, agentId: string, extra: Record<string, unknown> = {}) => {
    const data = await as.ok(ANA, APPEND_NODE, {
      input: { workflowId, parentId, type, content: `${type} by ${agentId}`, agentId, ...extra },
    });
    const node = data.appendNode as { id: string; branchId: string };
    const metadata = extra.metadata as ReturnType<typeof usage> | undefined;
    nodes.push({ id: node.id, type, agentId, usage: metadata?.usage, redacted: Boolean(extra.restrictedTo) });
    return node;
  };
  const m1 = await append(root.id, "MESSAGE", "planner", { metadata: usage("gpt-a", 100, 20, 0.01, 500) });
  const a1 = await append(m1.id, "ACTION", "tool", { metadata: usage("gpt-b", 50, 5, 0.002, 250) });
  const e1 = await append(a1.id, "ERROR", "tool");
  const p1 = await append(e1.id, "MESSAGE", "planner", {
    metadata: usage("private-model", 7, 3, 0.07, 100),
    restrictedTo: [ANA.sub],
  });
  const decide = async (parentId: string, count: number) => {
    const data = await as.ok(ANA, ADD_DECISION, {
      input: {
        workflowId,
        parentId,
        content: "which?",
        agentId: "planner",
        options: Array.from({ length: count }, (_, i) => ({ content: `option ${i}`, agentId: "planner" })),
      },
    });
    const decision = data.addDecision as { id: string; options: { id: string }[] };
    nodes.push({ id: decision.id, type: "DECISION", agentId: "planner" });
    for (const option of decision.options) nodes.push({ id: option.id, type: "OPTION", agentId: "planner" });
    return decision;
  };
  const d1 = await decide(p1.id, 3);
  await as.ok(ANA, CHOOSE, { input: { decisionId: d1.id, optionId: d1.options[0].id } });
  const d2 = await decide(d1.options[0].id, 2);
  // The secret branch, written last: its s2 is the newest node (ana's critical path ends there).
  const s1 = await append(m1.id, "MESSAGE", "spy", { metadata: usage("secret-model", 1000, 100, 1, 2000) });
  const s2 = await append(s1.id, "MESSAGE", "spy");
  for (const n of nodes.slice(-2)) n.secret = true;
  expect(s2.branchId).toBe(s1.branchId);
  await as.ok(ANA, VISIBILITY, { input: { branchId: s1.branchId, restrictedTo: [CAROL.sub] } });
  await as.ok(ANA, GRANT, { input: { workflowId, principal: BEN.sub, access: "READ" } });
  await as.ok(ANA, GRANT, { input: { workflowId, principal: CAROL.sub, access: "READ" } });
  return { workflowId, mainBranch: root.branchId, secretBranch: s1.branchId, nodes, decisionIds: [d1.id, d2.id] };
}

/** What a caller should see, computed from what the test wrote. */
function expected(nodes: Written[], options: { seesSecret: boolean; readsRedacted: boolean }) {
  const visible = nodes.filter((n) => options.seesSecret || !n.secret);
  const byType = new Map<string, number>();
  for (const n of visible) byType.set(n.type, (byType.get(n.type) ?? 0) + 1);
  const sum = (list: Written[], key: "inputTokens" | "outputTokens" | "costUsd" | "latencyMs") =>
    list.reduce((total, n) => total + (n.usage?.[key] ?? 0), 0);
  const totals = (list: Written[]) => ({
    nodes: list.length,
    calls: list.filter((n) => n.usage).length,
    inputTokens: sum(list, "inputTokens"),
    outputTokens: sum(list, "outputTokens"),
    costUsd: expect.closeTo(sum(list, "costUsd"), 9),
    latencyMs: sum(list, "latencyMs"),
  });
  const agents = [...new Set(visible.map((n) => n.agentId!))].sort();
  const withUsage = visible.filter((n) => n.usage);
  const modelOf = (n: Written) => (n.redacted && !options.readsRedacted ? null : n.usage!.model);
  const models = [...new Set(withUsage.map(modelOf))].sort((a, b) =>
    a === null ? 1 : b === null ? -1 : a < b ? -1 : 1,
  );
  return {
    nodeCount: visible.length,
    byType: [...byType.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([type, count]) => ({ type, count })),
    byAgent: agents.map((agentId) => ({ agentId, usage: totals(visible.filter((n) => n.agentId === agentId)) })),
    byModel: models.map((model) => ({ model, usage: totals(withUsage.filter((n) => modelOf(n) === model)) })),
    usage: totals(visible),
    errors: visible.filter((n) => n.type === "ERROR").length,
  };
}

/** percentileCont, as Cypher computes it (linear interpolation). */
function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = p * (sorted.length - 1);
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

/** The events a caller sees, from the event log read as that caller. */
async function eventTimes(who: TokenClaims, workflowId: string): Promise<number[]> {
  const data = await as.ok(who, `query ($id: ID!) { workflowEvents(workflowId: $id, first: 1000) { seq at } }`, {
    id: workflowId,
  });
  return (data.workflowEvents as { seq: number; at: string }[])
    .sort((a, b) => a.seq - b.seq)
    .map((e) => Date.parse(e.at));
}

describe("Workflow.analytics and Branch.analytics", () => {
  let s: Story;
  beforeAll(async () => {
    s = await shared();
  });

  const read = async (who: TokenClaims) => {
    const data = await as.ok(who, ANALYTICS, { id: s.workflowId, branchId: s.mainBranch });
    expect(data.workflows).toHaveLength(1);
    return { workflow: data.workflows[0].analytics, main: data.branches[0].analytics };
  };

  it.each([
    ["the owner (from the counters)", () => ANA, { seesSecret: true, readsRedacted: true }],
    ["an admin (from the counters)", () => ADMIN, { seesSecret: true, readsRedacted: true }],
    ["a reader who cannot see the restricted branch (a scan)", () => BEN, { seesSecret: false, readsRedacted: false }],
    [
      "a reader of the restricted branch, with a node redacted (a scan)",
      () => CAROL,
      { seesSecret: true, readsRedacted: false },
    ],
  ])("counts types, agents, usage and errors as %s sees them", async (_name, who, options) => {
    const { workflow } = await read(who());
    expect(workflow).toMatchObject(expected(s.nodes, options));
  });

  it("counts decisions, pending ones, options offered and the time to choose", async () => {
    const { workflow } = await read(BEN);
    const driver = testDriver();
    onDispose(() => driver.close());
    const { records } = await driver.executeQuery(
      `MATCH (d:WorkflowNode)-[c:CHOSEN_OPTION]->() WHERE d.id IN $ids
       RETURN c.at.epochMillis - d.timestamp.epochMillis AS wait`,
      { ids: s.decisionIds },
    );
    const waits = records.map((r) => Number(r.get("wait")));
    expect(waits).toHaveLength(1);
    expect(workflow.decisions).toEqual({
      total: 2,
      pending: 1,
      averageOptions: 2.5,
      maxOptions: 3,
      timeToChoiceMs: { count: 1, p50: waits[0], p95: waits[0], max: waits[0] },
    });
  });

  it.each([
    ["ana", () => ANA],
    ["ben", () => BEN],
  ])("times the events %s sees: first to last, and the gaps between them", async (_name, who) => {
    const times = await eventTimes(who(), s.workflowId);
    const { workflow } = await read(who());
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(workflow.firstEventAt).toBe(new Date(times[0]).toISOString());
    expect(workflow.lastEventAt).toBe(new Date(times[times.length - 1]).toISOString());
    expect(workflow.durationMs).toBe(times[times.length - 1] - times[0]);
    expect(workflow.eventGapsMs).toEqual({
      count: gaps.length,
      p50: expect.closeTo(percentile(gaps, 0.5)!, 6),
      p95: expect.closeTo(percentile(gaps, 0.95)!, 6),
      max: Math.max(...gaps),
    });
  });

  it("ends the critical path at the newest node the caller sees", async () => {
    const ana = (await read(ANA)).workflow.criticalPath;
    const ben = (await read(BEN)).workflow.criticalPath;
    const ids = s.nodes.map((n) => n.id);
    const [root, m1] = ids;
    const [s1, s2] = ids.slice(-2);
    expect(ana).toMatchObject({ endNodeId: s2, nodeIds: [root, m1, s1, s2], length: 4 });
    // ben's newest visible nodes are the second decision's options (written at the same time; the
    // higher seq wins), under d1's first option.
    const d2 = ids.indexOf(s.decisionIds[1]);
    const d2Options = s.nodes
      .slice(d2 + 1)
      .filter((n) => n.type === "OPTION")
      .map((n) => n.id);
    expect(d2Options).toHaveLength(2);
    expect(d2Options).toContain(ben.endNodeId);
    expect(ben.nodeIds[0]).toBe(root);
    expect(ben.nodeIds[ben.nodeIds.length - 1]).toBe(ben.endNodeId);
    expect(ben.nodeIds).toContain(s.decisionIds[1]);
    expect(ben.nodeIds).not.toContain(s1);
    expect(ben.length).toBe(ben.nodeIds.length);
    expect(ana.durationMs).toBeGreaterThanOrEqual(ben.durationMs);
  });

  it("counts the branches by status, leaving out those hidden from the caller", async () => {
    const count = (list: { status: string; count: number }[]) => list.find((b) => b.status === "ACTIVE")!.count;
    // main, d1's three options, d2's two, the secret branch.
    expect(count((await read(ANA)).workflow.branchesByStatus)).toBe(7);
    expect(count((await read(BEN)).workflow.branchesByStatus)).toBe(6);
  });

  it("measures a branch by its own nodes", async () => {
    const { main } = await read(ANA);
    const own = s.nodes.filter((n) => !n.secret && !["OPTION"].includes(n.type)).slice(0, 6);
    // main holds the root, m1, a1, e1, p1 and d1 (the options and d2 are on option branches).
    expect(main.nodeCount).toBe(own.length);
    expect(main.usage.inputTokens).toBe(157);
    expect(main.decisions.total).toBe(1);
  });

  it("answers BAD_USER_INPUT for usage of the wrong type, and writes nothing", async () => {
    const before = await as.ok(ANA, `query ($id: ID!) { workflows(where: { id: { eq: $id } }) { lastSeq } }`, {
      id: s.workflowId,
    });
    const res = await as.post(ANA, APPEND_NODE, {
      input: {
        workflowId: s.workflowId,
        parentId: s.nodes[0].id,
        type: "MESSAGE",
        content: "bad",
        metadata: { usage: { model: "m", inputTokens: -3 } },
      },
    });
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions!.field).toBe("input.metadata.usage.inputTokens");
    const after = await as.ok(ANA, `query ($id: ID!) { workflows(where: { id: { eq: $id } }) { lastSeq } }`, {
      id: s.workflowId,
    });
    expect(after).toEqual(before);
  });
});

describe("analytics across workflows", () => {
  const SERIES = /* GraphQL */ `
    query ($from: DateTime!, $to: DateTime!, $bucket: AnalyticsBucket!, $groupBy: [AnalyticsGroupBy!]) {
      analytics(from: $from, to: $to, bucket: $bucket, groupBy: $groupBy) {
        from
        buckets
        groups {
          agentId
          model
          status
          workflowId
          workflowsStarted
          workflowsCompleted
          workflowsFailed
          nodes
          inputTokens
          outputTokens
          costUsd
        }
      }
    }
  `;
  let s: Story;
  let stored: { agentId: string | null; at: number; inputTokens: number; secret: boolean }[];
  const from = new Date(Date.now() - 3 * 3_600_000).toISOString();
  let to: string;
  beforeAll(async () => {
    s = await shared();
    await as.ok(ANA, COMPLETE, { input: { workflowId: s.workflowId, summary: "done" } });
    to = new Date(Date.now() + 3_600_000).toISOString();
    const driver = testDriver();
    onDispose(() => driver.close());
    const { records } = await driver.executeQuery(
      `MATCH (n:WorkflowNode {workflowId: $id})
       RETURN n.agentId AS agentId, n.timestamp.epochMillis AS at, coalesce(n.inputTokens, 0) AS inputTokens,
              n.branchId = $secret AS secret`,
      { id: s.workflowId, secret: s.secretBranch },
    );
    stored = records.map((r) => ({
      agentId: r.get("agentId") as string | null,
      at: Number(r.get("at")),
      inputTokens: Number(r.get("inputTokens")),
      secret: r.get("secret") as boolean,
    }));
    expect(stored).toHaveLength(s.nodes.length);
  });

  it("places each node the caller sees in the bucket of its stored timestamp, by agent", async () => {
    const data = await as.ok(BEN, SERIES, { from, to, bucket: "HOUR", groupBy: ["AGENT"] });
    const { buckets, groups } = data.analytics as { buckets: string[]; groups: Record<string, any>[] };
    const starts = buckets.map((b) => Date.parse(b));
    expect(starts[0]).toBe(Math.floor(Date.parse(from) / 3_600_000) * 3_600_000);
    const bucketOf = (at: number) => starts.filter((start) => start <= at).length - 1;
    for (const agentId of ["planner", "tool", "spy"]) {
      const mine = stored.filter((n) => n.agentId === agentId && !n.secret);
      const nodes = starts.map(() => 0);
      const tokens = starts.map(() => 0);
      for (const n of mine) {
        nodes[bucketOf(n.at)] += 1;
        tokens[bucketOf(n.at)] += n.inputTokens;
      }
      const group = groups.find((g) => g.agentId === agentId);
      if (mine.length === 0) {
        // ben cannot see the spy's branch: no group for it.
        expect(group).toBeUndefined();
        continue;
      }
      expect(group).toBeDefined();
      expect(group!.nodes).toEqual(nodes);
      expect(group!.inputTokens).toEqual(tokens);
    }
    // The workflow was started by the planner (its root's agent) and completed within the range.
    const planner = groups.find((g) => g.agentId === "planner")!;
    expect(planner.workflowsStarted.reduce((a: number, b: number) => a + b, 0)).toBe(1);
    expect(planner.workflowsCompleted.reduce((a: number, b: number) => a + b, 0)).toBe(1);
  });

  it("groups by workflow and status, counting only readable workflows", async () => {
    const data = await as.ok(CAROL, SERIES, { from, to, bucket: "DAY", groupBy: ["WORKFLOW", "STATUS"] });
    const groups = data.analytics.groups as Record<string, any>[];
    expect(groups.map((g) => g.workflowId)).toEqual([s.workflowId]);
    expect(groups[0].status).toBe("COMPLETED");
    const total = (g: Record<string, number[]>, key: string) => g[key].reduce((a, b) => a + b, 0);
    expect(total(groups[0], "nodes")).toBe(stored.length);
    expect(total(groups[0], "inputTokens")).toBe(stored.reduce((a, n) => a + n.inputTokens, 0));
    const none = await as.ok({ sub: `nobody-${run}`, roles: ["reader"] }, SERIES, { from, to, bucket: "DAY" });
    expect(none.analytics.groups).toEqual([]);
  });

  it("leaves out, for an admin, a workflow being imported or purged (hidden)", async () => {
    const mine = async () => {
      const data = await as.ok(ADMIN, SERIES, { from, to, bucket: "DAY", groupBy: ["WORKFLOW"] });
      return (data.analytics.groups as Record<string, any>[]).find((g) => g.workflowId === s.workflowId);
    };
    const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect(total((await mine())!.nodes)).toBe(stored.length);
    const driver = testDriver();
    onDispose(() => driver.close());
    const label = (set: boolean) =>
      driver.executeQuery(`MATCH (w:Workflow {id: $id}) ${set ? "SET" : "REMOVE"} w:HiddenWorkflow`, {
        id: s.workflowId,
      });
    await label(true);
    try {
      expect(await mine()).toBeUndefined();
    } finally {
      await label(false);
    }
  });

  it("answers BAD_USER_INPUT for an empty range and for more buckets than the limit", async () => {
    const empty = await as.post(BEN, SERIES, { from: to, to: from, bucket: "DAY" });
    expect(codeOf(empty)).toBe("BAD_USER_INPUT");
    const long = await as.post(BEN, SERIES, {
      from: "2020-01-01T00:00:00Z",
      to: "2021-01-01T00:00:00Z",
      bucket: "HOUR",
    });
    expect(codeOf(long)).toBe("BAD_USER_INPUT");
    expect(long.errors![0].extensions!.limit).toBe(1000);
  });
});
