import { createHash } from "node:crypto";
import type { AccessScope } from "../auth/access-scope";
import { badUserInput, databaseUnavailable, isDatabaseUnavailable } from "../errors";
import { readTransaction, singleStatement, type StatementRunner } from "../infra/neo4j";
import { HIDDEN_WORKFLOW, READ_HIDDEN_WORKFLOWS, visibleOrDeletedWorkflow } from "./hidden-workflow";
import { PRUNING_BRANCH } from "./pruning-branch";
import type { Store } from "./store";
import type { Grant } from "./workflow-access";
import { accessIn, accessOf } from "./workflow-access";

/**
 * What one caller may see inside the workflows it may read, looked up as each operation starts
 * (and again while a subscription runs):
 * - a branch restricted with setBranchVisibility hides itself and every branch forked from it (its
 *   "lineage" descendants) from everyone outside its list;
 * - a node written with `restrictedTo` stays in the tree, with its content and metadata redacted
 *   for everyone outside its list.
 * Admins and a workflow's owners see everything in it.
 */
export interface Visibility {
  /** Admins: nothing is hidden or redacted. */
  seeAll: boolean;
  /** The caller's `sub` and `group:<name>` principals, as restriction lists name them. */
  principals: readonly string[];
  /** Workflows the caller owns: nothing in them is hidden from it. */
  ownedWorkflowIds: readonly string[];
  /** Restricted branches whose list leaves the caller out. */
  hidingRoots: ReadonlySet<string>;
  /** Every branch hidden from the caller: the roots and every branch forked from them. */
  hiddenBranchIds: readonly string[];
  /** Names what is hidden: equal keys hide the same branches (part of every cache key). */
  key: string;
}

/** What an admin (and every caller while authentication is off) sees: everything. */
export const SEE_ALL: Visibility = Object.freeze({
  seeAll: true,
  principals: Object.freeze([]) as readonly string[],
  ownedWorkflowIds: Object.freeze([]) as readonly string[],
  hidingRoots: new Set<string>(),
  hiddenBranchIds: Object.freeze([]) as readonly string[],
  key: "",
});

/** Most principals in one `restrictedTo` list. */
export const MAX_RESTRICTED_TO = 100;

/**
 * A `restrictedTo` input as stored: principals without repeats, sorted; null (no restriction) for
 * null or an empty list.
 * Sizes and encoding are checked by checkInput, like every input string.
 * @throws BAD_USER_INPUT for a blank principal, or a list over {@link MAX_RESTRICTED_TO}.
 */
export function normalizeRestrictedTo(list: readonly string[] | null | undefined, field: string): string[] | null {
  if (list == null || list.length === 0) return null;
  if (list.length > MAX_RESTRICTED_TO) {
    throw badUserInput(`${field} names at most ${MAX_RESTRICTED_TO} principals`, { field, limit: MAX_RESTRICTED_TO });
  }
  list.forEach((principal, i) => {
    if (typeof principal !== "string" || principal.trim() === "") {
      throw badUserInput(`${field}[${i}] must not be blank`, { field: `${field}[${i}]` });
    }
  });
  return [...new Set(list)].sort();
}

/** True when a restriction list leaves out every one of the caller's principals. */
export function excludes(restrictedTo: readonly string[] | null | undefined, principals: readonly string[]): boolean {
  return restrictedTo != null && restrictedTo.length > 0 && !restrictedTo.some((p) => principals.includes(p));
}

/** True when something on a branch with this lineage (its fork ancestry, itself included) is hidden. */
export function hiddenByLineage(lineage: readonly string[] | null | undefined, roots: ReadonlySet<string>): boolean {
  if (roots.size === 0 || !lineage) return false;
  return lineage.some((id) => roots.has(id));
}

/**
 * The restricted branches of one workflow that hide from a caller with `grants` access to it: none
 * for admins and owners.
 */
export function hidingRootsIn(
  scope: AccessScope,
  grants: readonly Grant[],
  restricted: readonly { id: string; restrictedTo: readonly string[] | null }[],
  access = accessOf(scope, grants),
): Set<string> {
  if (scope.admin || access === "OWNER") return new Set();
  return new Set(restricted.filter((r) => excludes(r.restrictedTo, scope.principals)).map((r) => r.id));
}

/**
 * Cypher condition: the caller may read node `n`'s content (not redacted). Reads the parameters of
 * {@link visibilityParams}; `owned` names the caller's owned workflow ids when a statement looks
 * them up itself (see {@link accessViewCypher}).
 */
export const contentVisible = (n: string, owned = "$ownedWorkflowIds") =>
  `(${n}.restrictedTo IS NULL OR $seeAll OR ${n}.workflowId IN ${owned} OR any(p IN ${n}.restrictedTo WHERE p IN $principals))`;

/** The parameters of {@link contentVisible} and `$hiddenBranchIds` filters. */
export function visibilityParams(v: Visibility) {
  return {
    seeAll: v.seeAll,
    principals: [...v.principals],
    ownedWorkflowIds: [...v.ownedWorkflowIds],
    hiddenBranchIds: [...v.hiddenBranchIds],
  };
}

/** True when the caller may read a node's content. */
export function canSeeContent(v: Visibility, node: { workflowId: string; restrictedTo?: readonly string[] | null }) {
  return (
    v.seeAll ||
    !node.restrictedTo ||
    v.ownedWorkflowIds.includes(node.workflowId) ||
    node.restrictedTo.some((p) => v.principals.includes(p))
  );
}

const LOOKUP = `
UNWIND $principals AS principal
MATCH (g:WorkflowGrant {principal: principal})
// A soft-deleted workflow keeps its grants but is read by no one: its owners still own it (its
// audit entries, restoreWorkflow), and nothing else of it is reachable.
WITH g, EXISTS { MATCH (d:Workflow {id: g.workflowId}) WHERE d:${HIDDEN_WORKFLOW} } AS deleted
WITH collect(DISTINCT CASE WHEN NOT deleted THEN g.workflowId END) AS ids,
     collect(DISTINCT CASE WHEN g.access = 'OWNER' THEN g.workflowId END) AS owned
CALL (ids, owned) {
  UNWIND ids AS workflowId
  MATCH (r:RestrictedBranch {workflowId: workflowId})
  WHERE NOT workflowId IN owned AND NOT any(p IN r.restrictedTo WHERE p IN $principals)
  MATCH (b:Branch {workflowId: workflowId}) WHERE r.id IN b.lineage
  RETURN collect(DISTINCT r.id) AS roots, collect(DISTINCT b.id) AS hidden
}
CALL (ids) {
  MATCH (p:${PRUNING_BRANCH}) WHERE p.workflowId IN ids
  RETURN collect(p.id) AS pruning
}
RETURN ids, owned, roots, hidden + pruning AS hidden`;

/**
 * Cypher, the body of a `CALL () { … }` run with `$principals`: what {@link readAccessView} looks
 * up, for a statement that checks the caller's access itself instead of taking the view as
 * parameters (one round trip instead of two). One row: `readable` (the workflows the caller may
 * read, hidden ones left out; null for admins: every workflow), `owned` and `hiddenBranches`
 * (branches hidden from it, and those being pruned). Hidden workflows are the statement's own
 * check for admins (READ_HIDDEN_WORKFLOWS).
 */
export function accessViewCypher(admin: boolean): string {
  // Aggregated first: `RETURN null, [], collect(…)` would group by the constants and return no row.
  if (admin)
    return `MATCH (p:${PRUNING_BRANCH}) WITH collect(p.id) AS pruning RETURN null AS readable, [] AS owned, pruning AS hiddenBranches`;
  return `CALL () { ${LOOKUP} }\nRETURN ids AS readable, owned, hidden AS hiddenBranches`;
}

/** Admins: the workflows hidden from everyone, and the branches being pruned (see pruning-branch.ts). */
const READ_ADMIN_HIDDEN = `
CALL () { ${READ_HIDDEN_WORKFLOWS} }
CALL () { MATCH (p:${PRUNING_BRANCH}) RETURN collect(p.id) AS pruning }
RETURN ids, pruning`;

/** What a caller may read: the workflows (null: all) and what is hidden inside them. */
export interface AccessView {
  workflowIds: string[] | null;
  visibility: Visibility;
  /** Workflows being imported or purged, or deleted: hidden from everyone, admins included (see hidden-workflow.ts). */
  hiddenWorkflowIds?: readonly string[];
}

/**
 * Looks up what a caller may read, in one statement: the workflows granted to its principals, the
 * ones it owns, and the restricted branches (with their descendants) that hide from it.
 */
export async function readAccessView(tx: StatementRunner, scope: AccessScope): Promise<AccessView> {
  if (scope.admin) {
    // Admins pass @neo4j/graphql's rules on their role: they learn which workflows to leave out.
    const hidden = (await tx.run(READ_ADMIN_HIDDEN)).records[0];
    const pruning = [...new Set(hidden.get("pruning") as string[])].sort();
    const visibility = pruning.length ? { ...SEE_ALL, hiddenBranchIds: pruning, key: digest(pruning) } : SEE_ALL;
    return { workflowIds: null, visibility, hiddenWorkflowIds: sharedHiddenWorkflowIds(hidden.get("ids") as string[]) };
  }
  if (scope.principals.length === 0) {
    return { workflowIds: [], visibility: { ...SEE_ALL, seeAll: false, key: "" } };
  }
  const result = await tx.run(LOOKUP, { principals: [...scope.principals] });
  const record = result.records[0];
  const hidden = [...new Set(record.get("hidden") as string[])].sort();
  return {
    workflowIds: record.get("ids") as string[],
    visibility: {
      seeAll: false,
      principals: scope.principals,
      ownedWorkflowIds: record.get("owned") as string[],
      hidingRoots: new Set(record.get("roots") as string[]),
      hiddenBranchIds: hidden,
      key: digest(hidden),
    },
  };
}

/** The list of hidden workflows last read, in id order, and its digest. */
let lastHidden: { joined: string; ids: readonly string[]; digest: string } = {
  joined: "",
  ids: Object.freeze([]),
  digest: "",
};

/**
 * The hidden workflows' ids in id order, as one frozen array shared by every operation that reads
 * the same list: an admin's context (and each of its subscriptions, for as long as it runs) holds
 * a reference, not a copy of every deleted workflow's id.
 */
function sharedHiddenWorkflowIds(ids: string[]): readonly string[] {
  const sorted = ids.sort();
  const joined = sorted.join("\n");
  if (joined !== lastHidden.joined) lastHidden = { joined, ids: Object.freeze(sorted), digest: digest(sorted) };
  return lastHidden.ids;
}

/** The digest of a hidden-workflow list: computed once per distinct list. */
export function hiddenWorkflowsDigest(ids: readonly string[]): string {
  return ids === lastHidden.ids ? lastHidden.digest : digest([...ids].sort());
}

/** A short digest of a sorted id list ("" for none). */
export function digest(ids: readonly string[]): string {
  if (ids.length === 0) return "";
  return createHash("sha256").update(ids.join("\n")).digest("base64url").slice(0, 22);
}

/**
 * {@link readAccessView} as a statement of its own (one round trip, see singleStatement), as each
 * operation starts.
 * @throws GraphQLError SERVICE_UNAVAILABLE when the database cannot be reached.
 */
export async function lookupAccessView(store: Store, scope: AccessScope): Promise<AccessView> {
  try {
    return await singleStatement(store.driver, store.database, "read", (tx) => readAccessView(tx, scope));
  } catch (error) {
    // Looked up while the context is built, before any resolver: name the outage here.
    if (isDatabaseUnavailable(error)) throw databaseUnavailable();
    throw error;
  }
}

/**
 * What decides who may see what in one workflow: its grants and its restricted branches with the
 * branches forked from each, as of `seq` (the workflow's lastSeq when read). The same for every
 * subscriber of the workflow: each works out its own view from it ({@link viewIn}).
 */
export interface WorkflowVisibilityState {
  seq: number;
  /** null: the workflow does not exist (any more). */
  grants: Grant[] | null;
  restricted: { id: string; restrictedTo: string[] | null; branchIds: string[] }[];
}

// A soft-deleted workflow still reads with its grants: its live streams end on its WORKFLOW_DELETED
// event (see end-on-delete.ts), which the periodic check must not pre-empt.
const READ_WORKFLOW_VISIBILITY = `
MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleOrDeletedWorkflow("w")}
RETURN w.lastSeq AS seq,
  COLLECT { MATCH (g:WorkflowGrant {workflowId: w.id}) RETURN g {.principal, .access} } AS grants,
  COLLECT {
    MATCH (r:RestrictedBranch {workflowId: w.id})
    RETURN r {.id, .restrictedTo,
      branchIds: COLLECT { MATCH (b:Branch {workflowId: w.id}) WHERE r.id IN b.lineage RETURN b.id }}
  } AS restricted`;

/** Reads a workflow's {@link WorkflowVisibilityState} (one statement). */
export async function readWorkflowVisibility(store: Store, workflowId: string): Promise<WorkflowVisibilityState> {
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(READ_WORKFLOW_VISIBILITY, { workflowId }),
  );
  const record = result.records[0];
  if (!record) return { seq: Number.MAX_SAFE_INTEGER, grants: null, restricted: [] };
  return {
    seq: Number(record.get("seq")),
    grants: record.get("grants") as Grant[],
    restricted: record.get("restricted") as WorkflowVisibilityState["restricted"],
  };
}

/** One caller's view of one workflow. */
export interface WorkflowView {
  mayRead: boolean;
  owner: boolean;
  hidingRoots: Set<string>;
  hiddenBranchIds: string[];
}

/**
 * Works out a caller's view of a workflow from its state, in memory. Every subscriber of the
 * workflow does so with the same state: its grants are indexed once (accessIn).
 */
export function viewIn(scope: AccessScope, state: WorkflowVisibilityState): WorkflowView {
  const access = state.grants === null ? null : accessIn(scope, state.grants);
  const roots =
    state.grants === null ? new Set<string>() : hidingRootsIn(scope, state.grants, state.restricted, access);
  const hidden = new Set<string>();
  for (const r of state.restricted) if (roots.has(r.id)) for (const id of [r.id, ...r.branchIds]) hidden.add(id);
  return {
    mayRead: scope.admin || (access !== null && ["READ", "WRITE", "OWNER"].includes(access)),
    owner: scope.admin || access === "OWNER",
    hidingRoots: roots,
    hiddenBranchIds: [...hidden].sort(),
  };
}
