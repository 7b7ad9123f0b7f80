/**
 * The viewer's picture of one workflow, and how events change it. Pure: no DOM, no network, so the
 * unit tier tests it (test/unit/viewer-model.test.ts).
 *
 * The picture is built from reads that happen after `lastSeq` was read (history pages, branches,
 * decisions, monitors), then kept current by `workflowEvents(afterSeq: lastSeq)`. The reads may
 * already include some of the events the stream then delivers again, so every merge is idempotent:
 * a node, branch, option or choice is keyed by id and merging it twice changes nothing.
 */

/** A node's type, as schema.graphql's `NodeType`. */
export type NodeType = "SYSTEM" | "MESSAGE" | "ACTION" | "DECISION" | "OPTION" | "MONITOR" | "ERROR";

/** What the viewer shows for a node whose content is redacted for the caller. */
export const REDACTED = "[redacted]";

/** A workflow node as the viewer draws it. */
export interface ViewNode {
  id: string;
  branchId: string;
  type: NodeType;
  content: string;
  metadata: Record<string, unknown> | null;
  timestamp: string;
  seq: number;
  depth: number;
  agentId: string | null;
  userId: string | null;
  /** null at the root. */
  parentId: string | null;
}

/** A branch as the viewer labels it. */
export interface ViewBranch {
  id: string;
  name: string;
  status: "ACTIVE" | "ABANDONED" | "COMPLETED";
  /** The seq at which the branch was created: the order branches are coloured in. */
  seq: number;
  length: number;
  forkedFromId: string | null;
}

/** A decision, its options in the order offered, and the option chosen (null while pending). */
export interface ViewDecision {
  decisionId: string;
  optionIds: string[];
  chosenId: string | null;
}

/** A monitor and one node it watches. */
export interface ViewMonitor {
  monitorId: string;
  targetId: string;
}

/** Everything the canvas draws for one workflow, as of `lastSeq`. */
export interface WorkflowModel {
  workflowId: string;
  /** The newest event merged; the stream resumes after it. -1 before anything is known. */
  lastSeq: number;
  nodes: ReadonlyMap<string, ViewNode>;
  branches: ReadonlyMap<string, ViewBranch>;
  decisions: ReadonlyMap<string, ViewDecision>;
  /** Keyed by `monitorId targetId`. */
  monitors: ReadonlyMap<string, ViewMonitor>;
}

/** The GraphQL shape of a node, as the viewer's documents select it (`parent { id }`). */
export interface NodeData {
  id: string;
  branchId: string;
  type: NodeType;
  /** Null when the node is redacted for the caller (`restrictedTo`). */
  content: string | null;
  metadata?: Record<string, unknown> | null;
  timestamp: string;
  seq: number;
  depth: number;
  agentId?: string | null;
  userId?: string | null;
  parent?: { id: string } | null;
  /** On DECISION nodes in events: the options offered. */
  options?: { id: string }[] | null;
  /** On MONITOR nodes in events: the nodes watched. */
  monitors?: { id: string }[] | null;
}

/** The GraphQL shape of a branch, as the viewer's documents select it. */
export interface BranchData {
  id: string;
  name: string;
  status: ViewBranch["status"];
  seq: number;
  length: number;
  forkedFrom?: { id: string } | null;
}

/** A `workflowEvents` payload, as the viewer's subscription selects it. */
export interface EventData {
  seq: number;
  kind:
    | "NODE_ADDED"
    | "DECISION_ADDED"
    | "OPTION_CHOSEN"
    | "BRANCH_CREATED"
    | "BRANCH_STATUS_CHANGED"
    | "BRANCH_VISIBILITY_CHANGED"
    | "MONITOR_ADDED"
    | "WORKFLOW_STATUS_CHANGED"
    | "BRANCH_PRUNED"
    | "WORKFLOW_DELETED"
    | "WORKFLOW_RESTORED";
  at: string;
  node?: NodeData | null;
  branch?: BranchData | null;
  decision?: { id: string } | null;
  option?: { id: string } | null;
  /** WORKFLOW_STATUS_CHANGED: the new status. */
  status?: string | null;
  /** BRANCH_PRUNED: the branches removed that the caller could see. */
  prunedBranchIds?: string[] | null;
}

/** The GraphQL shape of a decision point (`decisionPoints`, `workflowAt.decisions`). */
export interface DecisionData {
  decision: { id: string };
  options: { id: string }[];
  chosen?: { id: string } | null;
}

/** The GraphQL shape of a monitor link (`crossBranchMonitors`, `workflowAt.monitors`). */
export interface MonitorData {
  monitor: { id: string };
  target: { id: string };
}

/** An empty model for a workflow. */
export function emptyModel(workflowId: string): WorkflowModel {
  return { workflowId, lastSeq: -1, nodes: new Map(), branches: new Map(), decisions: new Map(), monitors: new Map() };
}

/** Converts a node of a GraphQL answer. */
export function toViewNode(data: NodeData): ViewNode {
  return {
    id: data.id,
    branchId: data.branchId,
    type: data.type,
    content: data.content ?? REDACTED,
    metadata: data.metadata ?? null,
    timestamp: data.timestamp,
    seq: data.seq,
    depth: data.depth,
    agentId: data.agentId ?? null,
    userId: data.userId ?? null,
    parentId: data.parent?.id ?? null,
  };
}

/** Converts a branch of a GraphQL answer. */
export function toViewBranch(data: BranchData): ViewBranch {
  return {
    id: data.id,
    name: data.name,
    status: data.status,
    seq: data.seq,
    length: data.length,
    forkedFromId: data.forkedFrom?.id ?? null,
  };
}

/** What an initial load read: `lastSeq` first, then the rest. */
export interface LoadedWorkflow {
  workflowId: string;
  lastSeq: number;
  nodes: NodeData[];
  branches: BranchData[];
  decisions: DecisionData[];
  monitors: MonitorData[];
}

/** Builds the model from an initial load (or a `workflowAt` snapshot, with its seq as `lastSeq`). */
export function modelFromLoad(load: LoadedWorkflow): WorkflowModel {
  const builder = new ModelBuilder(emptyModel(load.workflowId));
  for (const node of load.nodes) builder.node(node);
  for (const branch of load.branches) builder.branch(branch);
  for (const point of load.decisions) {
    builder.options(
      point.decision.id,
      point.options.map((o) => o.id),
    );
    if (point.chosen) builder.choose(point.decision.id, point.chosen.id);
  }
  for (const link of load.monitors) builder.monitor(link.monitor.id, link.target.id);
  // Not the highest seq read: the reads ran one after another, so a later read may hold an event
  // an earlier one missed. The stream resumes after `lastSeq`, read before all of them, and its
  // events merge idempotently over what the reads already had.
  builder.lastSeq = load.lastSeq;
  return builder.build();
}

/**
 * Merges a batch of stream events. Events at or below the model's `lastSeq` are skipped (the
 * initial reads or an earlier delivery already hold them), so a resumed stream that repeats events
 * changes nothing. Returns the same model when nothing new arrived, so React skips the render.
 */
export function applyEvents(model: WorkflowModel, events: readonly EventData[]): WorkflowModel {
  const fresh = events.filter((e) => e.seq > model.lastSeq).sort((a, b) => a.seq - b.seq);
  if (fresh.length === 0) return model;
  const builder = new ModelBuilder(model);
  for (const event of fresh) {
    if (event.node) {
      builder.node(event.node);
      if (event.node.type === "DECISION" && event.node.options) {
        builder.options(
          event.node.id,
          event.node.options.map((o) => o.id),
        );
      }
      if (event.node.type === "MONITOR" && event.node.monitors) {
        for (const target of event.node.monitors) builder.monitor(event.node.id, target.id);
      }
    }
    if (event.branch) builder.branch(event.branch);
    if (event.kind === "OPTION_CHOSEN" && event.decision && event.option) {
      builder.choose(event.decision.id, event.option.id);
    }
    if (event.kind === "BRANCH_PRUNED" && event.prunedBranchIds) builder.prune(event.prunedBranchIds);
    builder.lastSeq = Math.max(builder.lastSeq, event.seq);
  }
  return builder.build();
}

/** Copy-on-write over a model: each map is copied at most once per batch. */
class ModelBuilder {
  lastSeq: number;
  private nodes: Map<string, ViewNode> | undefined;
  private branches: Map<string, ViewBranch> | undefined;
  private decisions: Map<string, ViewDecision> | undefined;
  private monitors: Map<string, ViewMonitor> | undefined;

  constructor(private readonly base: WorkflowModel) {
    this.lastSeq = base.lastSeq;
  }

  node(data: NodeData): void {
    this.nodes ??= new Map(this.base.nodes);
    this.nodes.set(data.id, toViewNode(data));
    // An OPTION node under a decision is one of its options even before the decision's own list
    // is known (a decision written by appendNode has none until addDecision-style options follow).
    const parentId = data.parent?.id;
    if (data.type === "OPTION" && parentId && this.nodes.get(parentId)?.type === "DECISION") {
      this.options(parentId, [data.id]);
    }
  }

  branch(data: BranchData): void {
    this.branches ??= new Map(this.base.branches);
    this.branches.set(data.id, toViewBranch(data));
  }

  options(decisionId: string, optionIds: readonly string[]): void {
    this.decisions ??= new Map(this.base.decisions);
    const current = this.decisions.get(decisionId) ?? { decisionId, optionIds: [], chosenId: null };
    const merged = [...current.optionIds];
    for (const id of optionIds) if (!merged.includes(id)) merged.push(id);
    this.decisions.set(decisionId, { ...current, optionIds: merged });
  }

  choose(decisionId: string, optionId: string): void {
    this.options(decisionId, [optionId]);
    const current = this.decisions!.get(decisionId)!;
    this.decisions!.set(decisionId, { ...current, chosenId: optionId });
  }

  /**
   * Removes pruned branches with their nodes, and what pointed at those nodes: options offered,
   * a choice made, monitor links. A decision that stays loses only the options that went.
   */
  prune(branchIds: readonly string[]): void {
    const gone = new Set(branchIds);
    this.branches ??= new Map(this.base.branches);
    for (const id of gone) this.branches.delete(id);
    this.nodes ??= new Map(this.base.nodes);
    const removed = new Set<string>();
    for (const [id, node] of this.nodes) {
      if (gone.has(node.branchId)) {
        removed.add(id);
        this.nodes.delete(id);
      }
    }
    if (removed.size === 0) return;
    this.decisions ??= new Map(this.base.decisions);
    for (const [id, decision] of this.decisions) {
      if (removed.has(id)) {
        this.decisions.delete(id);
        continue;
      }
      const optionIds = decision.optionIds.filter((o) => !removed.has(o));
      if (optionIds.length !== decision.optionIds.length) {
        const chosenId = decision.chosenId && removed.has(decision.chosenId) ? null : decision.chosenId;
        this.decisions.set(id, { ...decision, optionIds, chosenId });
      }
    }
    this.monitors ??= new Map(this.base.monitors);
    for (const [key, link] of this.monitors) {
      if (removed.has(link.monitorId) || removed.has(link.targetId)) this.monitors.delete(key);
    }
  }

  monitor(monitorId: string, targetId: string): void {
    this.monitors ??= new Map(this.base.monitors);
    this.monitors.set(`${monitorId} ${targetId}`, { monitorId, targetId });
  }

  build(): WorkflowModel {
    return {
      workflowId: this.base.workflowId,
      lastSeq: this.lastSeq,
      nodes: this.nodes ?? this.base.nodes,
      branches: this.branches ?? this.base.branches,
      decisions: this.decisions ?? this.base.decisions,
      monitors: this.monitors ?? this.base.monitors,
    };
  }
}

/** What a batch of events changes in the workflow's own state, as the page header shows it. */
export interface WorkflowStateChange {
  /** The status after the batch, when a WORKFLOW_STATUS_CHANGED was in it. */
  status?: string;
  /** true after WORKFLOW_DELETED, false after WORKFLOW_RESTORED (the last of them counts). */
  deleted?: boolean;
}

/** The workflow-level changes in a batch of events (applied in seq order). */
export function workflowStateChange(events: readonly EventData[]): WorkflowStateChange {
  const change: WorkflowStateChange = {};
  for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
    if (event.kind === "WORKFLOW_STATUS_CHANGED" && event.status) change.status = event.status;
    if (event.kind === "WORKFLOW_DELETED") change.deleted = true;
    if (event.kind === "WORKFLOW_RESTORED") change.deleted = false;
  }
  return change;
}

/** The path from the root to a node (root first), as far as the model knows it. */
export function pathToRoot(model: WorkflowModel, nodeId: string): ViewNode[] {
  const path: ViewNode[] = [];
  const seen = new Set<string>();
  let current = model.nodes.get(nodeId);
  while (current && !seen.has(current.id)) {
    seen.add(current.id);
    path.unshift(current);
    current = current.parentId ? model.nodes.get(current.parentId) : undefined;
  }
  return path;
}

/**
 * Whether a node records a failure: an ERROR node, or the convention docs/viewer.md describes for
 * other nodes: `metadata.error` set (anything but false/null), or `metadata.status` of "error",
 * "failed" or "failure".
 */
export function isFailedNode(node: Pick<ViewNode, "metadata"> & { type?: NodeType }): boolean {
  if (node.type === "ERROR") return true;
  const metadata = node.metadata;
  if (!metadata) return false;
  const error = metadata.error;
  if (error !== undefined && error !== null && error !== false) return true;
  const status = typeof metadata.status === "string" ? metadata.status.toLowerCase() : "";
  return status === "error" || status === "failed" || status === "failure";
}
