import neo4j, { type ManagedTransaction } from "neo4j-driver";
import { visibleWorkflow } from "../hidden-workflow";
import type { Store } from "../store";
import { highlight, queryTerms } from "./highlight";
import type { ScoredHit } from "./score-order";
import { decodeSearchCursor, encodeSearchCursor } from "./search-cursor";
import { checkFirst, checkQuery, readHits, type SearchPage, type SearchViewer } from "./search-nodes";

/** The full-text index over Workflow `name`, `systemPrompt` and `metadata` (migration 0007). */
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
 * Cypher: the visible workflows after the cursor (by score, then id), filtered inside the statement
 * after the index call: only the caller's workflows, none hidden. A workflow a caller may read
 * shows its name, system prompt and metadata to every reader, so nothing else is left out.
 */
const SEARCH_WORKFLOWS = (ties: boolean) => `
CALL db.index.fulltext.queryNodes('${WORKFLOW_TEXT_INDEX}', $query) YIELD node AS w, score
WHERE ${ties ? "score = $tieScore AND " : ""}($afterScore IS NULL OR score < $afterScore
    OR (score = $afterScore AND w.id > $afterId))
  AND ($workflowIds IS NULL OR w.id IN $workflowIds)
  AND ${visibleWorkflow("w")}
  AND ($status IS NULL OR w.status = $status)
  AND ($from IS NULL OR w.createdAt >= datetime($from))
  AND ($to IS NULL OR w.createdAt < datetime($to))
  AND ($agentId IS NULL OR EXISTS { MATCH (r:WorkflowNode {workflowId: w.id, seq: 0}) WHERE r.agentId = $agentId })
WITH w, score ${ties ? "ORDER BY w.id " : ""}LIMIT $limit
RETURN score, w.id AS id, w.name AS name, w.systemPrompt AS systemPrompt, w.metadata AS metadata`;

/** The statement for the first hits in the index's order, or (`ties`) those of one score by id. */
export const searchWorkflowsStatement = (ties = false) => SEARCH_WORKFLOWS(ties);

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
  const read = async (tx: ManagedTransaction, ties: boolean, extra: Record<string, unknown>) => {
    const result = await tx.run(searchWorkflowsStatement(ties), { ...params, ...extra });
    return result.records.map((record): Row => {
      const id = String(record.get("id"));
      const texts = ["name", "systemPrompt", "metadata"].map((key) => (record.get(key) as string | null) ?? null);
      return { score: Number(record.get("score")), key: [id], id, texts };
    });
  };
  const rows = await readHits(store, first + 1, (tx) => ({
    stream: (limit) => read(tx, false, { limit: neo4j.int(limit) }),
    ties: (score, limit) => read(tx, true, { tieScore: score, limit: neo4j.int(limit) }),
  }));
  const terms = queryTerms(query);
  const edges = rows.slice(0, first).map((row) => ({
    cursor: encodeSearchCursor(row),
    workflowId: row.id,
    score: row.score,
    highlight: row.texts.reduce<string | null>((found, text) => found ?? highlight(text, terms), null),
  }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}
