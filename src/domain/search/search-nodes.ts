import neo4j from "neo4j-driver";
import { badUserInput } from "../../errors";
import { singleStatement, type StatementRunner } from "../../infra/neo4j";
import { HIDDEN_WORKFLOW } from "../hidden-workflow";
import type { Store } from "../store";
import { normalizeId } from "../validation";
import type { AccessScope } from "../../auth/access-scope";
import { accessViewCypher, contentVisible, visibilityParams, type Visibility } from "../visibility";
import { STORED_PROPERTIES_PROJECTION, toStoredNode, type NodeType, type StoredNode } from "../workflow-node";
import { highlight, queryTerms } from "./highlight";
import { searchSyntaxError } from "./lucene-error";
import { firstHits, type HitReader, type PagedHit, type ScoredHit } from "./score-order";
import { decodeSearchCursor, encodeSearchCursor, type SearchCursor } from "./search-cursor";

/**
 * The full-text index over WorkflowNode `content` and `metadata` (migration 0007; eventually
 * consistent since 0012).
 */
export const NODE_TEXT_INDEX = "workflow_node_text";
/** Most hits one search page holds. */
export const MAX_SEARCH_PAGE = 1000;
/** Hits per page when `first` is not given. */
export const DEFAULT_SEARCH_PAGE = 100;
/** Longest query accepted, in characters. */
export const MAX_SEARCH_QUERY = 1000;

/** schema.graphql's `SearchNodesWhere`: every filter given must match. */
export interface SearchNodesFilter {
  workflowId?: string | null;
  branchId?: string | null;
  type?: NodeType | null;
  agentId?: string | null;
  userId?: string | null;
  /** ISO-8601: only nodes written at or after it. */
  from?: string | null;
  /** ISO-8601: only nodes written before it. */
  to?: string | null;
}

/** Who is searching: what it may read. */
export interface SearchViewer {
  /** The workflows the caller may read; null: every workflow (admins). */
  workflowIds: readonly string[] | null;
  visibility: Visibility;
}

/**
 * Who is searching nodes: what it may read, looked up already, or (`scope`) the caller whose
 * access the search statement looks up itself, with the same rules (see accessViewCypher): an
 * operation that is only a search then makes one round trip to the database instead of two.
 */
export type NodeSearcher = SearchViewer | { scope: AccessScope };

export interface SearchNodesRequest {
  query: string;
  where?: SearchNodesFilter | null;
  /** @default 100 */
  first?: number | null;
  after?: string | null;
}

/** One hit: the node, its score, and the fragment of its text that matched. */
export interface NodeHit {
  cursor: string;
  node: StoredNode;
  score: number;
  highlight: string | null;
}

/** A page of hits, best first (shaped like a Relay connection). */
export interface SearchPage<T> {
  edges: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * Cypher condition: hit `n` with `score` is visible to the caller, comes after the cursor and
 * passes the client's filters. The filters come after the index call, inside the statement, so a
 * page is full whatever they leave out:
 * - the caller's workflows (`readable`, null for admins), none hidden (HiddenWorkflow: deleted,
 *   purging, importing), no node on a branch hidden from it, no node whose content it may not read
 *   (a redacted node never matches: not by its score, not by its highlight);
 * - the client's filters.
 */
const VISIBLE_HIT = `(afterScore IS NULL OR score < afterScore OR (score = afterScore
    AND (n.workflowId > $afterWorkflowId OR (n.workflowId = $afterWorkflowId AND n.seq > $afterSeq))))
  AND (readable IS NULL OR n.workflowId IN readable)
  AND NOT n.workflowId IN hiddenWorkflowIds
  AND NOT n.branchId IN hiddenBranches
  AND ${contentVisible("n", "owned")}
  AND ($workflowId IS NULL OR n.workflowId = $workflowId)
  AND ($branchId IS NULL OR n.branchId = $branchId)
  AND ($type IS NULL OR n.type = $type)
  AND ($agentId IS NULL OR n.agentId = $agentId)
  AND ($userId IS NULL OR n.userId = $userId)
  AND ($from IS NULL OR n.timestamp >= datetime($from))
  AND ($to IS NULL OR n.timestamp < datetime($to))`;

/**
 * How a statement learns what the caller may read: from the parameters of a view looked up before
 * (`given`), or by looking it up itself for an admin or for another caller (`$principals`).
 */
type AccessSource = "given" | "admin" | "member";

/**
 * Cypher binding what {@link VISIBLE_HIT} reads: `hiddenWorkflowIds` (hidden from everyone),
 * `readable`, `owned` and `hiddenBranches` (see accessViewCypher).
 */
const accessPrelude = (source: AccessSource) => `
CALL () { MATCH (h:${HIDDEN_WORKFLOW}) RETURN collect(h.id) AS hiddenWorkflowIds }
CALL () {
  ${
    source === "given"
      ? "RETURN $workflowIds AS readable, $ownedWorkflowIds AS owned, $hiddenBranchIds AS hiddenBranches"
      : accessViewCypher(source === "admin")
  }
}`;
const ACCESS_VARIABLES = ["hiddenWorkflowIds", "readable", "owned", "hiddenBranches"] as const;

/**
 * Cypher: the index's best `$indexSkip + $indexLimit` hits but the first `$indexSkip` (Lucene keeps
 * only those), read and chosen inside the database: every score read, how many hits pass, and the
 * first `$count` of those in page order with their stored properties (see {@link topStatement}).
 */
export const searchNodesTop = (source: AccessSource) =>
  topStatement({
    prelude: accessPrelude(source),
    carried: ACCESS_VARIABLES,
    index: NODE_TEXT_INDEX,
    variable: "n",
    visible: VISIBLE_HIT,
    cursor: "n.workflowId = $afterWorkflowId AND n.seq = $afterSeq",
    key: "n.workflowId, n.seq",
    projection: STORED_PROPERTIES_PROJECTION,
  });

/**
 * Cypher: the first `$limit` visible hits after the cursor in the index's order, its hits read one
 * by one; or (`ties`) those with exactly `$tieScore`, in key order (reading every hit).
 */
export const searchNodesScan = (source: AccessSource) => (ties: boolean) => `
${accessPrelude(source)}
WITH ${ACCESS_VARIABLES.join(", ")}, $afterScore AS afterScore
CALL db.index.fulltext.queryNodes('${NODE_TEXT_INDEX}', $query) YIELD node AS n, score
WHERE ${ties ? "score = $tieScore AND " : ""}${VISIBLE_HIT}
WITH n, score ${ties ? "ORDER BY n.workflowId, n.seq " : ""}LIMIT $limit
RETURN score, ${STORED_PROPERTIES_PROJECTION} AS node`;

const SOURCES: readonly AccessSource[] = ["given", "admin", "member"];
const STATEMENTS = Object.fromEntries(
  SOURCES.map((source) => [source, { top: searchNodesTop(source), scan: searchNodesScan(source) }]),
) as Record<AccessSource, { top: string; scan: (ties: boolean) => string }>;

/** The statements' access source and parameters for `searcher`. */
function accessOf(searcher: NodeSearcher): { source: AccessSource; params: Record<string, unknown> } {
  if ("scope" in searcher) {
    const { admin, principals } = searcher.scope;
    return { source: admin ? "admin" : "member", params: { seeAll: admin, principals: [...principals] } };
  }
  return {
    source: "given",
    params: {
      ...visibilityParams(searcher.visibility),
      workflowIds: searcher.workflowIds === null ? null : [...searcher.workflowIds],
    },
  };
}

type Row = ScoredHit & { node: StoredNode };

/**
 * One page of the nodes matching a Lucene query that the caller may see, best score first, then
 * by workflowId and seq. A page deep in the results costs about what the first does: the next page
 * asks the index again and skips the hits before the cursor by comparing scores (no hit is
 * collected to be skipped).
 * @throws GraphQLError BAD_USER_INPUT for a blank or invalid query (with the parser's message), a
 * malformed cursor, or `first` outside 0..1000.
 */
export async function searchNodes(
  store: Store,
  searcher: NodeSearcher,
  request: SearchNodesRequest,
): Promise<SearchPage<NodeHit>> {
  const first = checkFirst(request.first);
  const query = checkQuery(request.query);
  const after = request.after == null ? null : decodeSearchCursor(request.after, ["string", "number"]);
  const where = request.where ?? {};
  const access = accessOf(searcher);
  const params = {
    query,
    ...access.params,
    afterScore: after?.score ?? null,
    afterWorkflowId: after ? after.key[0] : null,
    afterSeq: after ? neo4j.int(after.key[1] as number) : null,
    workflowId: where.workflowId ? normalizeId(where.workflowId) : null,
    branchId: where.branchId ? normalizeId(where.branchId) : null,
    type: where.type ?? null,
    agentId: where.agentId ?? null,
    userId: where.userId ?? null,
    from: where.from ?? null,
    to: where.to ?? null,
  };
  const rows = await readHits(
    store,
    first + 1,
    (tx) => cypherHitReader(tx, { ...STATEMENTS[access.source], column: "node", params, toHit }),
    after,
    Object.values(where).some((value) => value != null),
  );
  const terms = queryTerms(query);
  const edges = rows.slice(0, first).map((row) => ({
    cursor: encodeSearchCursor(row),
    node: row.node,
    score: row.score,
    highlight: highlight(row.node.content, terms) ?? highlight(row.node.metadata, terms),
  }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

function toHit(score: unknown, value: Record<string, unknown>): Row {
  const node = toStoredNode(value);
  return { score: Number(score), key: [node.workflowId, node.seq], node };
}

/** The statements of one search and how a returned row becomes a hit. */
export interface HitStatements<T extends ScoredHit> {
  /** The index's best hits, chosen: one row of `scores`, `passed` and `hits` (see topStatement). */
  top: string;
  /** The hits that pass the filters in the index's order (`ties`: only those with `$tieScore`). */
  scan: (ties: boolean) => string;
  /** The column of `scan`'s rows holding the hit's properties. */
  column: string;
  params: Record<string, unknown>;
  toHit(score: unknown, value: Record<string, unknown>): T;
}

/** A {@link HitReader} running a search's statements in `tx`. */
export function cypherHitReader<T extends ScoredHit>(tx: StatementRunner, search: HitStatements<T>): HitReader<T> {
  const { params, column, toHit } = search;
  const rowsOf = (records: { get(key: string): unknown }[]) =>
    records.map((r) => toHit(r.get("score"), r.get(column) as Record<string, unknown>));
  return {
    async top(skip, limit, count) {
      const result = await tx.run(search.top, {
        ...params,
        indexSkip: neo4j.int(skip),
        indexLimit: neo4j.int(limit),
        count: neo4j.int(count),
      });
      const record = result.records[0];
      const hits = record.get("hits") as { score: unknown; value: Record<string, unknown> }[];
      return {
        scores: (record.get("scores") as unknown[]).map(Number),
        passed: Number(record.get("passed")),
        cursorScore: record.get("cursorScore") == null ? null : Number(record.get("cursorScore")),
        hits: hits.map((hit) => toHit(hit.score, hit.value)),
      };
    },
    async stream(limit) {
      return rowsOf((await tx.run(search.scan(false), { ...params, limit: neo4j.int(limit) })).records);
    },
    async ties(score, limit) {
      return rowsOf((await tx.run(search.scan(true), { ...params, tieScore: score, limit: neo4j.int(limit) })).records);
    },
  };
}

/**
 * Reads the first `count` hits (see firstHits), turning a query Lucene cannot parse into
 * BAD_USER_INPUT. Each read is an auto-commit statement (one round trip; a transaction function
 * costs three), and almost every page is one read. A page that needs several reads gets them as
 * separate statements: a read transaction would not make them agree either (Neo4j reads committed
 * data statement by statement, and the eventually consistent index has no transaction view), and
 * each `top` read stands alone; firstHits already copes with an index that changes between reads.
 */
export async function readHits<T extends ScoredHit>(
  store: Store,
  count: number,
  reader: (tx: StatementRunner) => HitReader<T>,
  after: SearchCursor | null,
  filtered = false,
): Promise<PagedHit<T>[]> {
  if (count <= 1) return [];
  try {
    return await singleStatement(store.driver, store.database, "read", (tx) =>
      firstHits(reader(tx), count, after, { filtered }),
    );
  } catch (error) {
    throw searchSyntaxError(error) ?? error;
  }
}

/** `first` as given (0..1000), or the default page size. */
export function checkFirst(first: number | null | undefined): number {
  const value = first ?? DEFAULT_SEARCH_PAGE;
  if (!Number.isInteger(value) || value < 0 || value > MAX_SEARCH_PAGE) {
    throw badUserInput(`first must be from 0 to ${MAX_SEARCH_PAGE}, got ${value}`, { field: "first" });
  }
  return value;
}

/** A query that is not blank and within {@link MAX_SEARCH_QUERY} characters. */
export function checkQuery(query: string): string {
  if (query.trim() === "") throw badUserInput("query must not be blank", { field: "query" });
  if (query.length > MAX_SEARCH_QUERY) {
    throw badUserInput(`query is ${query.length} characters; the limit is ${MAX_SEARCH_QUERY}`, {
      field: "query",
      limit: MAX_SEARCH_QUERY,
    });
  }
  return query;
}

/** The parts of a search's {@link HitReader.top} statement. */
export interface TopStatementParts {
  /** Cypher run once after the index call, binding `carried` (e.g. the hidden workflows' ids). */
  prelude: string;
  carried: readonly string[];
  /** The full-text index. */
  index: string;
  /** The variable each hit is bound to in `visible`, `key` and `projection`. */
  variable: string;
  /**
   * Condition on the hit and its `score`: visible to the caller, after the cursor (a lower score
   * than `afterScore`, or the same and a greater key), filters met.
   */
  visible: string;
  /** Condition: the hit is the cursor's (its key is `$after…`). */
  cursor: string;
  /** The order among equal scores, e.g. `n.workflowId, n.seq`. */
  key: string;
  /** The hit's properties as a page returns them. */
  projection: string;
}

/**
 * Cypher for {@link HitReader.top}, run with `$query`, `$indexSkip`, `$indexLimit` and `$count`:
 * one row of `scores` (every hit the index handed over, in its order), `cursorScore` (the score
 * the cursor's hit has now, when the read holds it: it places the cursor, since every write
 * anywhere in the index moves every score a little), `passed` (how many of them
 * are visible, follow the cursor and meet the filters) and `hits` (`{score, value}`: the first
 * `$count` of those in score-then-key order, without the ones tied at the lowest score when the
 * read is full). Ordering and cutting happen in the database, so only a page's properties are
 * read out and sent, however wide the read or the ties at the page's end.
 */
export function topStatement(parts: TopStatementParts): string {
  const { prelude, carried, index, variable: v, visible, cursor, key, projection } = parts;
  // Aggregated with no grouping key, so an index with no hit still answers one row.
  return `
CALL db.index.fulltext.queryNodes('${index}', $query, {skip: $indexSkip, limit: $indexLimit})
  YIELD node AS ${v}, score
WITH collect({hit: ${v}, score: score}) AS read
WITH read, [readHit IN read | readHit.score] AS scores
CALL (read) {
  UNWIND CASE WHEN $afterScore IS NULL THEN [] ELSE read END AS readHit
  WITH readHit.hit AS ${v}, readHit.score AS score
  WHERE ${cursor}
  RETURN collect(score)[0] AS cursorScore
}
WITH read, scores, cursorScore, coalesce(cursorScore, $afterScore) AS afterScore
${prelude}
CALL (${[...carried, "read", "scores", "afterScore"].join(", ")}) {
  UNWIND read AS readHit
  WITH readHit.hit AS ${v}, readHit.score AS score
  WHERE ${visible}
  WITH ${v}, score ORDER BY score DESC, ${key}
  WITH collect({hit: ${v}, score: score}) AS passing
  RETURN size(passing) AS passed,
    [readHit IN passing WHERE size(scores) < $indexLimit OR readHit.score > scores[-1]][0..$count] AS page
}
CALL (page) {
  UNWIND page AS readHit
  WITH readHit.hit AS ${v}, readHit.score AS score
  RETURN collect({score: score, value: ${projection}}) AS hits
}
RETURN scores, passed, hits, cursorScore`;
}
