import { visibleWorkflow } from "../hidden-workflow";
import type { Store } from "../store";
import { highlight, queryTerms } from "./highlight";
import type { ScoredHit } from "./score-order";
import { decodeSearchCursor, encodeSearchCursor } from "./search-cursor";
import {
  checkFirst,
  checkQuery,
  cypherHitReader,
  readHits,
  topStatement,
  type SearchPage,
  type SearchViewer,
} from "./search-nodes";

/**
 * The full-text index over Workflow `name`, `systemPrompt` and `metadata` (migration 0007;
 * eventually consistent since 0012).
 */
export const WORKFLOW_TEXT_INDEX = "workflow_text";

/** schema.graphql's `SearchWorkflowsWhere`: every filter given must match. */
export interface SearchWorkflowsFilter {
  status?: string | null;
  /** The agent that started the workflow (its root node's agentId). */
  agentId?: string | null;
  /** ISO-8601: only workflows created at or after it. */
  from?: string | null;
  /** ISO-8601: only workflows created before it. */
  to?: string | null;
}

export interface SearchWorkflowsRequest {
  query: string;
  where?: SearchWorkflowsFilter | null;
  /** @default 100 */
  first?: number | null;
  after?: string | null;
}

/** One hit: the workflow's id, its score, and the fragment of its text that matched. */
export interface WorkflowHit {
  cursor: string;
  workflowId: string;
  score: number;
  highlight: string | null;
}

/**
 * Cypher condition: workflow hit `w` with `score` comes after the cursor, is one the caller may
 * read and not hidden, and passes the client's filters (checked after the index call, inside the
 * statement). A workflow a caller may read shows its name, system prompt and metadata to every
 * reader, so nothing else is left out.
 */
const VISIBLE_HIT = `(afterScore IS NULL OR score < afterScore OR (score = afterScore AND w.id > $afterId))
  AND ($workflowIds IS NULL OR w.id IN $workflowIds)
  AND ${visibleWorkflow("w")}
  AND ($status IS NULL OR w.status = $status)
  AND ($from IS NULL OR w.createdAt >= datetime($from))
  AND ($to IS NULL OR w.createdAt < datetime($to))
  AND ($agentId IS NULL OR EXISTS { MATCH (r:WorkflowNode {workflowId: w.id, seq: 0}) WHERE r.agentId = $agentId })`;

const PROJECTION = "{.id, .name, .systemPrompt, .metadata}";

/** Cypher: the index's best hits, as SEARCH_NODES_TOP reads and chooses them (ties in id order). */
export const SEARCH_WORKFLOWS_TOP = topStatement({
  prelude: "",
  carried: [],
  index: WORKFLOW_TEXT_INDEX,
  variable: "w",
  visible: VISIBLE_HIT,
  cursor: "w.id = $afterId",
  key: "w.id",
  projection: `w ${PROJECTION}`,
});

/** Cypher: as searchNodesScan, over workflows (ties in id order). */
export const searchWorkflowsScan = (ties: boolean) => `
WITH $afterScore AS afterScore
CALL db.index.fulltext.queryNodes('${WORKFLOW_TEXT_INDEX}', $query) YIELD node AS w, score
WHERE ${ties ? "score = $tieScore AND " : ""}${VISIBLE_HIT}
WITH w, score ${ties ? "ORDER BY w.id " : ""}LIMIT $limit
RETURN score, w ${PROJECTION} AS workflow`;

type Row = ScoredHit & { id: string; texts: (string | null)[] };

/**
 * One page of the workflows whose name, system prompt or metadata match a Lucene query, among
 * those the caller may read, best score first, then by id; paged like {@link searchNodes}.
 * @throws GraphQLError BAD_USER_INPUT for a blank or invalid query (with the parser's message), a
 * malformed cursor, or `first` outside 0..1000.
 */
export async function searchWorkflows(
  store: Store,
  viewer: SearchViewer,
  request: SearchWorkflowsRequest,
): Promise<SearchPage<WorkflowHit>> {
  const first = checkFirst(request.first);
  const query = checkQuery(request.query);
  const after = request.after == null ? null : decodeSearchCursor(request.after, ["string"]);
  const where = request.where ?? {};
  const params = {
    query,
    workflowIds: viewer.workflowIds === null ? null : [...viewer.workflowIds],
    afterScore: after?.score ?? null,
    afterId: after ? after.key[0] : null,
    status: where.status ?? null,
    agentId: where.agentId ?? null,
    from: where.from ?? null,
    to: where.to ?? null,
  };
  const rows = await readHits(
    store,
    first + 1,
    (tx) =>
      cypherHitReader(tx, {
        top: SEARCH_WORKFLOWS_TOP,
        scan: searchWorkflowsScan,
        column: "workflow",
        params,
        toHit,
      }),
    after,
    Object.values(where).some((value) => value != null),
  );
  const terms = queryTerms(query);
  const edges = rows.slice(0, first).map((row) => ({
    cursor: encodeSearchCursor(row),
    workflowId: row.id,
    score: row.score,
    highlight: row.texts.reduce<string | null>((found, text) => found ?? highlight(text, terms), null),
  }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

function toHit(score: unknown, workflow: Record<string, unknown>): Row {
  const id = String(workflow.id);
  const texts = [workflow.name, workflow.systemPrompt, workflow.metadata].map((t) => (t as string | null) ?? null);
  return { score: Number(score), key: [id], id, texts };
}
