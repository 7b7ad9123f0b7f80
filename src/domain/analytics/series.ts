import { badUserInput } from "../../errors";
import { readTransaction } from "../../infra/neo4j";
import { HIDDEN_WORKFLOW } from "../hidden-workflow";
import type { Store } from "../store";
import { contentVisible, visibilityParams, type Visibility } from "../visibility";

/** schema.graphql's `AnalyticsBucket`. */
export type AnalyticsBucket = "HOUR" | "DAY";
/** schema.graphql's `AnalyticsGroupBy`. */
export type AnalyticsGroupBy = "AGENT" | "MODEL" | "STATUS" | "WORKFLOW";

/** Most buckets one series may span (BAD_USER_INPUT beyond): 41 days by the hour, 2.7 years by the day. */
export const MAX_BUCKETS = 1000;

const BUCKET_MS: Record<AnalyticsBucket, number> = { HOUR: 3_600_000, DAY: 86_400_000 };

/** What to draw: a time range cut into buckets, split into groups. */
export interface SeriesRequest {
  from: string;
  to: string;
  bucket: AnalyticsBucket;
  groupBy: readonly AnalyticsGroupBy[];
}

/** Who asks: the workflows it may read (null: all, an admin) and what is hidden inside them. */
export interface SeriesReader {
  workflowIds: readonly string[] | null;
  /** Workflows hidden from everyone (being imported or purged), for admins. */
  hiddenWorkflowIds: readonly string[];
  visibility: Pick<Visibility, "seeAll" | "principals" | "ownedWorkflowIds" | "hiddenBranchIds">;
}

/** The metrics of one group, each a value per bucket. */
export interface SeriesGroup {
  agentId: string | null;
  model: string | null;
  status: string | null;
  workflowId: string | null;
  workflowsStarted: number[];
  workflowsCompleted: number[];
  workflowsFailed: number[];
  nodes: number[];
  inputTokens: number[];
  outputTokens: number[];
  costUsd: number[];
}

/** schema.graphql's `AnalyticsSeries`. */
export interface AnalyticsSeries {
  from: string;
  to: string;
  bucket: AnalyticsBucket;
  /** The start of each bucket (UTC), in order; every group's arrays are aligned with it. */
  buckets: string[];
  groups: SeriesGroup[];
}

/**
 * The buckets of a range: from the start of `from`'s hour or day (UTC) up to `to` (excluded).
 * @throws GraphQLError BAD_USER_INPUT when `to` is not after `from`, or the range spans more than
 *   {@link MAX_BUCKETS} buckets.
 */
export function bucketStarts(from: string, to: string, bucket: AnalyticsBucket): number[] {
  const start = Date.parse(from);
  const end = Date.parse(to);
  if (!(end > start)) throw badUserInput("to must be later than from", { field: "to" });
  const size = BUCKET_MS[bucket];
  const first = Math.floor(start / size) * size;
  const count = Math.ceil((end - first) / size);
  if (count > MAX_BUCKETS) {
    throw badUserInput(`The range spans ${count} buckets of one ${bucket.toLowerCase()}; the limit is ${MAX_BUCKETS}`, {
      field: "to",
      limit: MAX_BUCKETS,
    });
  }
  return Array.from({ length: count }, (_, i) => first + i * size);
}

// The workflows a reader may read that started or ended in the range: for an admin, found by the
// createdAt and endedAt indexes; for anyone else, its list (granted; a hidden workflow has no grants).
const IN_RANGE = (all: boolean) =>
  all
    ? `CALL () {
  MATCH (w:Workflow) WHERE w.createdAt >= datetime($from) AND w.createdAt < datetime($to) RETURN w
  UNION
  MATCH (w:Workflow) WHERE w.endedAt >= datetime($from) AND w.endedAt < datetime($to) RETURN w
}
WITH w WHERE NOT w:${HIDDEN_WORKFLOW}`
    : `UNWIND $workflowIds AS id
MATCH (w:Workflow {id: id}) WHERE NOT w:${HIDDEN_WORKFLOW}
  AND ((w.createdAt >= datetime($from) AND w.createdAt < datetime($to))
    OR (w.endedAt >= datetime($from) AND w.endedAt < datetime($to)))`;

/**
 * Nodes per bucket and group, with their usage. An admin's nodes are found by the timestamp index;
 * a reader's by its workflows (the (workflowId, timestamp) index). A redacted node counts with its
 * usage, its model unnamed (null).
 */
const NODES = (all: boolean, hiddenBranches: boolean, byWorkflow: boolean, byAgent: boolean, byModel: boolean) => `
${
  all
    ? `MATCH (n:WorkflowNode)
WHERE n.timestamp >= datetime($from) AND n.timestamp < datetime($to)`
    : `UNWIND $workflowIds AS workflowId
MATCH (n:WorkflowNode {workflowId: workflowId})
WHERE n.timestamp >= datetime($from) AND n.timestamp < datetime($to)`
}
${
  // Left out when empty (always for an admin): it costs a property read per node.
  hiddenBranches ? "AND NOT n.branchId IN $hiddenBranchIds" : ""
}
WITH datetime.truncate($unit, n.timestamp).epochMillis AS at,
     ${byWorkflow ? "n.workflowId" : "null"} AS workflowId, ${byAgent ? "n.agentId" : "null"} AS agentId,
     ${byModel ? `CASE WHEN ${contentVisible("n")} THEN n.usageModel END` : "null"} AS model,
     n.inputTokens AS inputTokens, n.outputTokens AS outputTokens, n.costUsd AS costUsd
RETURN at, workflowId, agentId, model, count(*) AS nodes, sum(inputTokens) AS inputTokens,
       sum(outputTokens) AS outputTokens, sum(costUsd) AS costUsd`;

/**
 * Workflows started, and ended COMPLETED or FAILED, in the range, counted per bucket and group (by
 * the agent that started them: their root's).
 */
const WORKFLOWS = (all: boolean, byWorkflow: boolean, byAgent: boolean) => `
${IN_RANGE(all)}
WITH ${byWorkflow ? "w.id" : "null"} AS workflowId, coalesce(w.status, 'RUNNING') AS status,
  CASE WHEN w.createdAt >= datetime($from) AND w.createdAt < datetime($to)
    THEN datetime.truncate($unit, w.createdAt).epochMillis END AS startedAt,
  CASE WHEN w.endedAt >= datetime($from) AND w.endedAt < datetime($to)
    THEN datetime.truncate($unit, w.endedAt).epochMillis END AS endedAt,
  ${byAgent ? "COLLECT { MATCH (r:WorkflowNode {workflowId: w.id, seq: 0}) RETURN r.agentId }[0]" : "null"} AS agentId
RETURN workflowId, status, startedAt, endedAt, agentId, count(*) AS count`;

/** The status of the workflows that nodes were counted in, for grouping by STATUS. */
const STATUSES = `
UNWIND $ids AS id
MATCH (w:Workflow {id: id})
RETURN id, coalesce(w.status, 'RUNNING') AS status`;

/**
 * Time series across the workflows the reader may read: workflows started (by `createdAt`) and
 * completed or failed (by `endedAt`, with their current status), nodes written, tokens and cost
 * (by each node's `timestamp`), per bucket and per group. Grouping by AGENT uses each node's
 * agentId, and for workflows the agentId of their root; by MODEL each node's `usage.model`
 * (workflows have none); by STATUS and WORKFLOW the workflow's current status and id. Nodes on
 * branches hidden from the reader are not counted.
 * @throws GraphQLError BAD_USER_INPUT for a range that is empty or too long ({@link bucketStarts}).
 */
export async function analyticsSeries(
  store: Store,
  request: SeriesRequest,
  reader: SeriesReader,
): Promise<AnalyticsSeries> {
  const starts = bucketStarts(request.from, request.to, request.bucket);
  const by = new Set(request.groupBy);
  const all = reader.workflowIds === null;
  const parameters = {
    ...visibilityParams({ ...reader.visibility, hidingRoots: new Set(), key: "" }),
    from: new Date(request.from).toISOString(),
    to: new Date(request.to).toISOString(),
    unit: request.bucket.toLowerCase(),
    workflowIds: [...(reader.workflowIds ?? [])],
    hiddenWorkflowIds: [...reader.hiddenWorkflowIds],
  };
  const index = new Map(starts.map((at, i) => [at, i]));
  const groups = new Map<string, SeriesGroup>();
  const groupOf = (key: Pick<SeriesGroup, "agentId" | "model" | "status" | "workflowId">) => {
    const id = JSON.stringify([key.agentId, key.model, key.status, key.workflowId]);
    let group = groups.get(id);
    if (!group) {
      const zeros = () => starts.map(() => 0);
      group = {
        ...key,
        workflowsStarted: zeros(),
        workflowsCompleted: zeros(),
        workflowsFailed: zeros(),
        nodes: zeros(),
        inputTokens: zeros(),
        outputTokens: zeros(),
        costUsd: zeros(),
      };
      groups.set(id, group);
    }
    return group;
  };
  const byStatus = by.has("STATUS");
  const byWorkflow = by.has("WORKFLOW");
  const hiddenBranches = reader.visibility.hiddenBranchIds.length > 0;
  const nodeQuery = (readAll: boolean) =>
    NODES(readAll, hiddenBranches, byStatus || byWorkflow, by.has("AGENT"), by.has("MODEL"));
  // An admin's nodes of hidden workflows (being imported or purged) are read apart, by their
  // workflows' index, and taken away: cheaper than testing every node of the range.
  const subtract = all && reader.hiddenWorkflowIds.length > 0;
  // The two reads run side by side, each in its own transaction: they share nothing.
  const [workflows, nodes, statuses, hidden] = await Promise.all([
    readTransaction(store.driver, store.database, (tx) =>
      tx.run(WORKFLOWS(all, byWorkflow, by.has("AGENT")), parameters),
    ),
    readTransaction(store.driver, store.database, async (tx) => {
      const nodes = await tx.run(nodeQuery(all), parameters);
      const hidden = subtract
        ? await tx.run(nodeQuery(false), { ...parameters, workflowIds: parameters.hiddenWorkflowIds })
        : null;
      const statuses = new Map<string, string>();
      if (byStatus) {
        const records = [...nodes.records, ...(hidden?.records ?? [])];
        const ids = [...new Set(records.map((r) => r.get("workflowId") as string))];
        for (const r of (await tx.run(STATUSES, { ids })).records) {
          statuses.set(r.get("id") as string, r.get("status") as string);
        }
      }
      return { nodes, statuses, hidden };
    }),
  ]).then(([w, n]) => [w, n.nodes, n.statuses, n.hidden] as const);
  for (const r of workflows.records) {
    const status = r.get("status") as string;
    const group = groupOf({
      agentId: (r.get("agentId") as string | null) ?? null,
      model: null,
      status: byStatus ? status : null,
      workflowId: byWorkflow ? (r.get("workflowId") as string) : null,
    });
    const count = Number(r.get("count"));
    const started = index.get(r.get("startedAt") as number);
    const ended = index.get(r.get("endedAt") as number);
    if (started !== undefined) group.workflowsStarted[started] += count;
    if (ended !== undefined && status === "COMPLETED") group.workflowsCompleted[ended] += count;
    if (ended !== undefined && status === "FAILED") group.workflowsFailed[ended] += count;
  }
  const addNodes = (records: typeof nodes.records, sign: 1 | -1) => {
    for (const r of records) {
      const at = index.get(r.get("at") as number);
      if (at === undefined) continue;
      const workflowId = r.get("workflowId") as string | null;
      const group = groupOf({
        agentId: (r.get("agentId") as string | null) ?? null,
        model: (r.get("model") as string | null) ?? null,
        status: byStatus && workflowId ? (statuses.get(workflowId) ?? null) : null,
        workflowId: byWorkflow ? workflowId : null,
      });
      group.nodes[at] += sign * Number(r.get("nodes"));
      group.inputTokens[at] += sign * Number(r.get("inputTokens"));
      group.outputTokens[at] += sign * Number(r.get("outputTokens"));
      group.costUsd[at] += sign * Number(r.get("costUsd"));
    }
  };
  addNodes(nodes.records, 1);
  if (hidden) addNodes(hidden.records, -1);
  return {
    from: new Date(starts[0]).toISOString(),
    to: new Date(request.to).toISOString(),
    bucket: request.bucket,
    buckets: starts.map((at) => new Date(at).toISOString()),
    // A group made only of hidden workflows' nodes is all zeros once they are taken away.
    groups: [...groups.values()].filter((g) => !hidden || !isEmpty(g)),
  };
}

function isEmpty(group: SeriesGroup): boolean {
  return [group.workflowsStarted, group.workflowsCompleted, group.workflowsFailed, group.nodes].every((values) =>
    values.every((v) => v === 0),
  );
}
