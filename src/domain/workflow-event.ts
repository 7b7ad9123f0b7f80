import type { NodeType, StoredNode } from "./workflow-node";

/** schema.graphql's `WorkflowEventKind`. */
export type WorkflowEventKind =
  | "NODE_ADDED"
  | "DECISION_ADDED"
  | "OPTION_CHOSEN"
  | "BRANCH_CREATED"
  | "BRANCH_STATUS_CHANGED"
  | "MONITOR_ADDED"
  | "BRANCH_VISIBILITY_CHANGED"
  | "WORKFLOW_STATUS_CHANGED"
  | "BRANCH_PRUNED"
  | "WORKFLOW_DELETED"
  | "WORKFLOW_RESTORED";

/** Kinds whose event carries the node that was written. */
export const NODE_EVENT_KINDS: ReadonlySet<WorkflowEventKind> = new Set([
  "NODE_ADDED",
  "DECISION_ADDED",
  "MONITOR_ADDED",
]);

/**
 * The kind of the event that writing a node of `type` is: the same whichever mutation wrote it
 * (an appendNode of a DECISION is a DECISION_ADDED too), live and when read back from the log.
 */
export function nodeEventKind(type: NodeType): WorkflowEventKind {
  return type === "DECISION" ? "DECISION_ADDED" : type === "MONITOR" ? "MONITOR_ADDED" : "NODE_ADDED";
}

/**
 * An event as it travels on the bus: one per committed write step, each with its own seq drawn
 * from the workflow's sequence inside the write transaction.
 */
export interface WorkflowEventMessage {
  kind: WorkflowEventKind;
  seq: number;
  workflowId: string;
  /** ISO-8601. */
  at: string;
  /** The node written (node kinds). */
  node?: StoredNode;
  /** The node's branch (node kinds), or the branch created / changed. */
  branchId?: string;
  /** OPTION_CHOSEN: the decision and the option chosen. */
  decisionId?: string;
  optionId?: string;
  /**
   * The lineage of the branch the event is about (the node's, the branch's, or the decision's for
   * OPTION_CHOSEN): a stream hides the event from a caller a branch of it is restricted from.
   */
  lineage?: string[];
  /** WORKFLOW_STATUS_CHANGED: the workflow's new status. */
  status?: string;
  /**
   * The id of the request that wrote it, as published on the bus (for logs and tracing; not part
   * of the public event schema, and absent from events read back from the log).
   */
  requestId?: string;
  /**
   * The bookmark of the write transaction that committed it, as published on the bus: a stream
   * that reads the log because of this event reads with it, so on a cluster it never reads a
   * follower behind the event (see src/infra/bookmarks.ts; absent from events read from the log).
   */
  bookmark?: string;
  /** BRANCH_PRUNED: each branch removed, with who may learn of it (see prune-visibility.ts). */
  prunedBranches?: PrunedBranchEntry[];
}

/**
 * One branch a BRANCH_PRUNED removed: its node count, and the `restrictedTo` lists of the
 * restricted branches of its lineage that were pruned with it (the restrictions that would have
 * hidden it, which are gone with their branches): a reader outside any of them never learns of it.
 */
export interface PrunedBranchEntry {
  branchId: string;
  nodeCount: number;
  restrictions: string[][];
}

/** An event's identity: its workflow and seq. */
export const eventKey = (event: Pick<WorkflowEventMessage, "workflowId" | "seq">) => `${event.workflowId}:${event.seq}`;
