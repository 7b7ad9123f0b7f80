import neo4j from "neo4j-driver";
import { badUserInput } from "../../errors";
import { readTransaction } from "../../infra/neo4j";
import type { Store } from "../store";
import { notFound } from "../../errors";
import { visibleWorkflow } from "../hidden-workflow";
import { STORED_PROPERTIES_PROJECTION, toStoredNode, type NodeType, type StoredNode } from "../workflow-node";

/** Most nodes one history page holds. */
export const MAX_HISTORY_PAGE = 1000;

/** schema.graphql's `HistoryWhere`: every filter given must match. */
export interface HistoryFilter {
  type?: NodeType | null;
  branchId?: string | null;
  agentId?: string | null;
}

export interface HistoryPageRequest {
  workflowId: string;
  /** A cursor from an earlier page; from the root when omitted. */
  after?: string | null;
  /** @default 100 */
  first?: number | null;
  where?: HistoryFilter | null;
  /** Branches hidden from the caller (see visibility.ts): their nodes are left out. */
  hiddenBranchIds?: readonly string[];
  /**
   * True when the caller's access was already checked (a caller who is not an admin, against the
   * workflows looked up as its operation started); otherwise the page's own statement checks that
   * the workflow exists (NOT_FOUND), with no extra round trip.
   */
  checked?: boolean;
}

/** One page: the nodes in seq order, each with the cursor that resumes after it. */
export interface HistoryPage {
  edges: { cursor: string; node: StoredNode }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * Keyset pages over the (workflowId, seq) index, or (branchId, seq) when a branch is given: the
 * index is read in seq order from the cursor and stops after `first + 1` rows (the extra row tells
 * whether a next page exists), so a page deep in a large workflow costs what the first one does.
 * Ordering by both properties of the index is what lets Neo4j read it in order and stop (ordering
 * by seq alone sorts every node after the cursor).
 */
export const readHistoryPageStatement = (byBranch: boolean) => `
OPTIONAL MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleWorkflow("w")}
WITH w IS NOT NULL AS found, $hiddenBranchIds AS hidden
${historyPageCall(byBranch)}
RETURN found, nodes`;

/**
 * The page itself, as a subquery of a statement that has bound `found` (false: read nothing) and
 * `hidden` (the branch ids whose nodes are left out); it returns `nodes`.
 */
export const historyPageCall = (byBranch: boolean) => {
  const key = byBranch ? "branchId" : "workflowId";
  // The hint pins the composite index: read in order, it stops after LIMIT rows at any depth. Left
  // to statistics, the planner may pick the single-property index and sort the whole workflow.
  return `CALL (found, hidden) {
  MATCH (n:WorkflowNode) USING INDEX n:WorkflowNode(${key}, seq)
  WHERE found AND n.${key} = $${key} AND n.seq > $afterSeq ${byBranch ? "AND n.workflowId = $workflowId" : ""}
    AND ($type IS NULL OR n.type = $type)
    AND ($agentId IS NULL OR n.agentId = $agentId)
    AND NOT n.branchId IN hidden
  WITH n ORDER BY n.${key} ASC, n.seq ASC LIMIT $limit
  RETURN collect(${STORED_PROPERTIES_PROJECTION}) AS nodes
}`;
};

/**
 * Reads one page of a workflow's nodes in seq order. The caller checks that the workflow exists
 * (an unknown one reads as an empty page).
 * @throws GraphQLError BAD_USER_INPUT for a malformed cursor or `first` outside 0..1000.
 */
export async function readHistoryPage(store: Store, request: HistoryPageRequest): Promise<HistoryPage> {
  const { first, afterSeq } = checkHistoryPageRequest(request);
  if (first === 0) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
  const where = request.where ?? {};
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(readHistoryPageStatement(Boolean(where.branchId)), {
      workflowId: request.workflowId,
      branchId: where.branchId ?? null,
      type: where.type ?? null,
      agentId: where.agentId ?? null,
      afterSeq: neo4j.int(afterSeq),
      limit: neo4j.int(first + 1),
      hiddenBranchIds: [...(request.hiddenBranchIds ?? [])],
    }),
  );
  const record = result.records[0];
  if (!request.checked && !record.get("found")) {
    throw notFound(`Workflow ${request.workflowId} does not exist`, { field: "workflowId" });
  }
  return toHistoryPage((record.get("nodes") as Record<string, unknown>[]).map(toStoredNode), first);
}

/**
 * The page size and the seq to resume after.
 * @throws GraphQLError BAD_USER_INPUT for a malformed cursor or `first` outside 0..1000.
 */
export function checkHistoryPageRequest(request: Pick<HistoryPageRequest, "first" | "after">) {
  const first = request.first ?? 100;
  if (!Number.isInteger(first) || first < 0 || first > MAX_HISTORY_PAGE) {
    throw badUserInput(`first must be from 0 to ${MAX_HISTORY_PAGE}, got ${first}`, { field: "first" });
  }
  const afterSeq = request.after == null ? -1 : decodeHistoryCursor(request.after);
  return { first, afterSeq };
}

/** A page of `first` from the `first + 1` nodes read (the extra one says a next page exists). */
export function toHistoryPage(nodes: StoredNode[], first: number): HistoryPage {
  const edges = nodes.slice(0, first).map((node) => ({ cursor: encodeHistoryCursor(node.seq), node }));
  return {
    edges,
    pageInfo: { hasNextPage: nodes.length > first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/** The cursor format's version: a later format can still read the cursors clients hold. */
const CURSOR_VERSION = 1;

/** An opaque cursor: base64url of `{"v":1,"seq":<seq>}`. */
export function encodeHistoryCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, seq })).toString("base64url");
}

/**
 * The seq a cursor resumes after.
 * @throws GraphQLError BAD_USER_INPUT when the cursor is not one {@link encodeHistoryCursor} made.
 */
export function decodeHistoryCursor(cursor: string): number {
  let payload: unknown;
  try {
    payload = /^[A-Za-z0-9_-]+$/.test(cursor) ? JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) : null;
  } catch {
    payload = null;
  }
  const { v, seq } = (payload ?? {}) as { v?: unknown; seq?: unknown };
  if (v !== CURSOR_VERSION || typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
    throw badUserInput("after is not a cursor that history returned", { field: "after" });
  }
  return seq;
}
