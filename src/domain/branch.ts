/** schema.graphql's `BranchStatus`. */
export const BRANCH_STATUSES = ["ACTIVE", "ABANDONED", "COMPLETED"] as const;
export type BranchStatus = (typeof BRANCH_STATUSES)[number];

/** A Branch's stored properties. */
export interface BranchState {
  id: string;
  workflowId: string;
  name: string;
  status: BranchStatus;
  createdAt: string;
  /** The workflow event sequence number at which the branch was created. */
  seq: number;
  length: number;
  /** The branch's newest node; null while a forkBranch-created branch is empty. */
  headId: string | null;
  /** The node it forked from; null for the main branch. */
  forkedFromId: string | null;
  /** The branches on the path from the root to its fork point, then itself (see visibility.ts). */
  lineage: string[];
  /** setBranchVisibility's list: only these principals (and owners, admins) see it; null: everyone. */
  restrictedTo: string[] | null;
}

/** Cypher map projection of a Branch (`b` bound to it). */
export const BRANCH_PROJECTION =
  "b {.id, .workflowId, .name, .status, .seq, .length, .headId, .forkedFromId, .lineage, .restrictedTo, createdAt: toString(b.createdAt)}";

export function toBranchState(value: Record<string, unknown>): BranchState {
  return {
    id: String(value.id),
    workflowId: String(value.workflowId),
    name: String(value.name),
    status: value.status as BranchStatus,
    createdAt: new Date(String(value.createdAt)).toISOString(),
    seq: Number(value.seq),
    length: Number(value.length),
    headId: (value.headId as string | null) ?? null,
    forkedFromId: (value.forkedFromId as string | null) ?? null,
    lineage: (value.lineage as string[] | null) ?? [String(value.id)],
    restrictedTo: (value.restrictedTo as string[] | null) ?? null,
  };
}
