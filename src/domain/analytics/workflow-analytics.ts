import { readTransaction } from "../../infra/neo4j";
import type { Store } from "../store";
import { contentVisible, visibilityParams, type Visibility } from "../visibility";
import { addUsage, noUsage, type UsageTotals, type WorkflowStats } from "./usage";

/** The parts of an analytics answer, each read only when asked for. */
export type AnalyticsSection = "counts" | "branches" | "timing" | "decisions" | "criticalPath" | "criticalPathIds";

/** What to measure: a whole workflow, or one branch of it (its own nodes). */
export interface AnalyticsTarget {
  workflowId: string;
  /** One branch: its own nodes and events; the branch statuses of it and the branches forked from it. */
  branchId?: string | null;
}

/** Milliseconds between pairs of events: how many, the median, the 95th percentile and the longest. */
export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

/** schema.graphql's `WorkflowAnalytics`, for the sections read. */
export interface WorkflowAnalytics {
  nodeCount?: number;
  byType?: { type: string; count: number }[];
  byAgent?: { agentId: string | null; usage: UsageTotals }[];
  byModel?: { model: string | null; usage: UsageTotals }[];
  usage?: UsageTotals;
  errors?: number;
  /** True when the counts came from the counters kept by writes, not from a scan. */
  fromCounters?: boolean;
  branchesByStatus?: { status: string; count: number }[];
  firstEventAt?: string | null;
  lastEventAt?: string | null;
  durationMs?: number;
  eventGapsMs?: Percentiles;
  decisions?: {
    total: number;
    pending: number;
    averageOptions: number | null;
    maxOptions: number | null;
    timeToChoiceMs: Percentiles;
  };
  criticalPath?: { nodeIds: string[] | null; length: number; durationMs: number; endNodeId: string } | null;
}

/** The caller's view, as the analytics read needs it. */
type View = Pick<Visibility, "seeAll" | "principals" | "ownedWorkflowIds" | "hiddenBranchIds">;

// Whether the workflow's counters may stand for what the caller sees: none of its branches hidden
// from the caller and, when it holds restricted nodes, the caller reads them all (else their model
// would show). Read first, in the same transaction, so the scan is left out of the statement.
const READ_COUNTERS = `
MATCH (w:Workflow {id: $workflowId})
RETURN w.stats AS stats,
  EXISTS { MATCH (b:Branch {workflowId: w.id}) WHERE b.id IN $hiddenBranchIds } AS hasHidden`;

const percentiles = (x: string) =>
  `{count: count(${x}), p50: percentileCont(${x}, 0.5), p95: percentileCont(${x}, 0.95), max: max(${x})}`;

/** The statement's subqueries, one per section; `n` scope is the target's visible nodes. */
function sectionCypher(section: AnalyticsSection, branch: boolean, hidden: boolean): string {
  // The hidden-branch test is left out when nothing is hidden (it costs a property read per node).
  const nodes = (n: string) =>
    `MATCH (${n}:WorkflowNode {${branch ? "branchId: $branchId" : "workflowId: $workflowId"}}) WHERE ${
      hidden ? `NOT ${n}.branchId IN $hiddenBranchIds` : "true"
    }`;
  switch (section) {
    case "counts":
      // Grouped in Cypher, folded in JS: one row per (type, agent, model) present.
      return `CALL () {
  ${nodes("n")}
  WITH n.type AS type, n.agentId AS agentId, CASE WHEN ${contentVisible("n")} THEN n.usageModel END AS model,
       n.usageModel IS NOT NULL OR n.inputTokens IS NOT NULL OR n.outputTokens IS NOT NULL
         OR n.costUsd IS NOT NULL OR n.latencyMs IS NOT NULL AS recorded,
       n.inputTokens AS inputTokens, n.outputTokens AS outputTokens, n.costUsd AS costUsd, n.latencyMs AS latencyMs
  WITH type, agentId, model, count(*) AS nodes, sum(CASE WHEN recorded THEN 1 ELSE 0 END) AS calls,
       sum(inputTokens) AS inputTokens, sum(outputTokens) AS outputTokens, sum(costUsd) AS costUsd,
       sum(latencyMs) AS latencyMs
  RETURN collect({type: type, agentId: agentId, model: model, nodes: nodes, calls: calls, inputTokens: inputTokens,
    outputTokens: outputTokens, costUsd: costUsd, latencyMs: latencyMs}) AS countGroups
}`;
    case "branches":
      return `CALL () {
  MATCH (b:Branch {workflowId: $workflowId})
  WHERE NOT b.id IN $hiddenBranchIds AND ($branchId IS NULL OR $branchId IN b.lineage)
  WITH b.status AS status, count(*) AS count ORDER BY status
  RETURN collect({status: status, count: count}) AS branchesByStatus
}`;
    case "timing":
      // Every visible event: the nodes, and the events that are not nodes (a choice belongs to its
      // decision's branch; a workflow's status changes to no branch).
      return `CALL () {
  CALL () {
    ${nodes("n")}
    RETURN n.seq AS seq, n.timestamp.epochMillis AS at
    UNION ALL
    MATCH (e:WorkflowEvent {workflowId: $workflowId})
    OPTIONAL MATCH (d:WorkflowNode {id: e.decisionId})
    WITH e, coalesce(e.branchId, d.branchId) AS branchId
    WHERE (branchId IS NULL OR NOT branchId IN $hiddenBranchIds) AND ($branchId IS NULL OR branchId = $branchId)
    RETURN e.seq AS seq, e.at.epochMillis AS at
  }
  WITH seq, at ORDER BY seq
  WITH collect(at) AS times
  CALL (times) {
    UNWIND range(1, size(times) - 1) AS i
    WITH times[i] - times[i - 1] AS gap
    RETURN ${percentiles("gap")} AS gaps
  }
  RETURN CASE WHEN size(times) = 0 THEN null ELSE apoc.coll.min(times) END AS firstAt,
         CASE WHEN size(times) = 0 THEN null ELSE apoc.coll.max(times) END AS lastAt, gaps
}`;
    case "decisions":
      return `CALL () {
  ${nodes("d")} AND d.type = 'DECISION'
  OPTIONAL MATCH (d)-[c:CHOSEN_OPTION]->(:WorkflowNode)
  WITH d, c, COUNT { (d)-[:OPTION_OF]->(o:WorkflowNode) WHERE NOT o.branchId IN $hiddenBranchIds } AS options,
       c.at.epochMillis - d.timestamp.epochMillis AS wait
  RETURN {total: count(d), chosen: count(c), averageOptions: avg(options), maxOptions: max(options),
          wait: ${percentiles("wait")}} AS decisions
}`;
    case "criticalPath":
    case "criticalPathIds":
      // Timestamps grow down every path, so the longest root-to-leaf path by time ends at the
      // newest visible node (a visible node's ancestors are visible: hiding follows lineage).
      return `CALL () {
  ${nodes("n")}
  WITH n ORDER BY n.timestamp DESC, n.seq DESC LIMIT 1
  MATCH (root:WorkflowNode {workflowId: $workflowId, seq: 0})
  MATCH path = shortestPath((root)-[:PARENT_OF*0..]->(n))
  RETURN {endNodeId: n.id, length: length(path) + 1,
          durationMs: n.timestamp.epochMillis - root.timestamp.epochMillis,
          nodeIds: CASE WHEN $pathIds THEN [x IN nodes(path) | x.id] END} AS criticalPath
}`;
  }
}

const COLUMNS: Record<AnalyticsSection, string[]> = {
  counts: ["countGroups"],
  branches: ["branchesByStatus"],
  timing: ["firstAt", "lastAt", "gaps"],
  decisions: ["decisions"],
  criticalPath: ["criticalPath"],
  criticalPathIds: [],
};

/**
 * The analytics of a workflow or of one of its branches, as the caller sees them: nodes on
 * branches hidden from it are not counted, nor their events; redacted nodes are counted with their
 * usage (numbers reveal no text) but their model is not named (counted under null). Counts come
 * from the counters every write keeps when they stand for what the caller sees (see
 * READ_COUNTERS), and from a scan otherwise. Only `sections` are read, in one statement after
 * the counters' lookup. The caller must be allowed to read the workflow (and see the branch).
 */
export async function workflowAnalytics(
  store: Store,
  target: AnalyticsTarget,
  view: View,
  sections: ReadonlySet<AnalyticsSection>,
): Promise<WorkflowAnalytics> {
  const branch = Boolean(target.branchId);
  const parameters = {
    ...visibilityParams({ ...view, hidingRoots: new Set(), key: "" }),
    workflowId: target.workflowId,
    branchId: target.branchId ?? null,
    pathIds: sections.has("criticalPathIds"),
  };
  return readTransaction(store.driver, store.database, async (tx) => {
    const answer: WorkflowAnalytics = {};
    const wanted = new Set(sections);
    if (wanted.has("criticalPathIds")) wanted.add("criticalPath");
    if (wanted.has("counts") && !branch) {
      const record = (await tx.run(READ_COUNTERS, parameters)).records[0];
      const stats = record ? (record.get("stats") as string | null) : null;
      const counters = stats ? (JSON.parse(stats) as WorkflowStats) : null;
      const readsAll = view.seeAll || view.ownedWorkflowIds.includes(target.workflowId);
      if (counters && !record.get("hasHidden") && (counters.restrictedNodes === 0 || readsAll)) {
        Object.assign(answer, countsFrom(counters), { fromCounters: true });
        wanted.delete("counts");
      }
    }
    const chosen = [...wanted].filter((s) => COLUMNS[s].length > 0);
    if (chosen.length === 0) return answer;
    const statement = `${chosen.map((s) => sectionCypher(s, branch, view.hiddenBranchIds.length > 0)).join("\n")}
RETURN ${chosen.flatMap((s) => COLUMNS[s]).join(", ")}`;
    const record = (await tx.run(statement, parameters)).records[0];
    if (wanted.has("counts")) {
      Object.assign(answer, countsFromGroups(record.get("countGroups") as CountGroup[]), { fromCounters: false });
    }
    if (wanted.has("branches"))
      answer.branchesByStatus = record.get("branchesByStatus") as WorkflowAnalytics["branchesByStatus"];
    if (wanted.has("timing")) {
      const first = record.get("firstAt") as number | null;
      const last = record.get("lastAt") as number | null;
      answer.firstEventAt = first === null ? null : new Date(first).toISOString();
      answer.lastEventAt = last === null ? null : new Date(last).toISOString();
      answer.durationMs = first === null || last === null ? 0 : last - first;
      answer.eventGapsMs = toPercentiles(record.get("gaps"));
    }
    if (wanted.has("decisions")) {
      const d = record.get("decisions") as Record<string, unknown>;
      answer.decisions = {
        total: Number(d.total),
        pending: Number(d.total) - Number(d.chosen),
        averageOptions: d.averageOptions === null ? null : Number(d.averageOptions),
        maxOptions: d.maxOptions === null ? null : Number(d.maxOptions),
        timeToChoiceMs: toPercentiles(d.wait),
      };
    }
    if (wanted.has("criticalPath")) {
      const path = record.get("criticalPath") as Record<string, unknown> | null;
      answer.criticalPath = path && {
        endNodeId: String(path.endNodeId),
        length: Number(path.length),
        durationMs: Number(path.durationMs),
        nodeIds: (path.nodeIds as string[] | null) ?? null,
      };
    }
    return answer;
  });
}

function toPercentiles(value: unknown): Percentiles {
  const v = value as Record<string, unknown>;
  const n = (x: unknown) => (x === null || x === undefined ? null : Number(x));
  return { count: Number(v.count), p50: n(v.p50), p95: n(v.p95), max: n(v.max) };
}

interface CountGroup {
  type: string;
  agentId: string | null;
  model: string | null;
  nodes: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
}

/** The counts part of the answer from the counters. */
function countsFrom(stats: WorkflowStats): WorkflowAnalytics {
  const byType = Object.entries(stats.types)
    .map(([type, count]) => ({ type, count }))
    .sort((a, b) => a.type.localeCompare(b.type));
  return {
    nodeCount: stats.usage.nodes,
    byType,
    byAgent: sortByKey(stats.agents, (a) => a.agentId),
    byModel: sortByKey(stats.models, (m) => m.model),
    usage: stats.usage,
    errors: stats.types.ERROR ?? 0,
  };
}

/** The counts part of the answer from the scan's groups, shaped like the counters. */
function countsFromGroups(groups: CountGroup[]): WorkflowAnalytics {
  const stats: WorkflowStats = { types: {}, restrictedNodes: 0, usage: noUsage(), agents: [], models: [] };
  for (const g of groups) {
    const usage = {
      model: g.model,
      inputTokens: Number(g.inputTokens),
      outputTokens: Number(g.outputTokens),
      costUsd: Number(g.costUsd),
      latencyMs: Number(g.latencyMs),
    };
    const nodes = Number(g.nodes);
    const calls = Number(g.calls);
    stats.types[g.type] = (stats.types[g.type] ?? 0) + nodes;
    addUsage(stats.usage, usage, nodes, calls);
    let agent = stats.agents.find((a) => a.agentId === g.agentId);
    if (!agent) stats.agents.push((agent = { agentId: g.agentId, usage: noUsage() }));
    addUsage(agent.usage, usage, nodes, calls);
    if (calls === 0) continue;
    let model = stats.models.find((m) => m.model === g.model);
    if (!model) stats.models.push((model = { model: g.model, usage: noUsage() }));
    // Only the nodes that recorded usage belong to a model.
    addUsage(model.usage, usage, calls, calls);
  }
  return countsFrom(stats);
}

/** By key, null last: a stable order whichever path produced them. */
function sortByKey<T>(items: T[], key: (item: T) => string | null): T[] {
  return [...items].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === y) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    return x.localeCompare(y);
  });
}
