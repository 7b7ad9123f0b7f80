import { randomUUID } from "node:crypto";
import { badUserInput, conflict, notFound } from "../errors";
import type { BranchState, BranchStatus } from "./branch";
import { nodeEventKind, type WorkflowEventMessage } from "./workflow-event";
import type { NodeLinks, NodeType, StoredNode } from "./workflow-node";
import { countNode, usageOf, usageProperties, type NodeUsage, type WorkflowStats } from "./analytics/usage";

/** A workflow's counters as the lock+read found them. */
export interface WorkflowCounters {
  id: string;
  lastSeq: number;
  nodeCount: number;
  branchCount: number;
  /** Its status and how it ended; absent: RUNNING (as a workflow read before lifecycle existed). */
  lifecycle?: WorkflowLifecycle;
  /** Its analytics counters as JSON text ({@link WorkflowStats}); absent: not kept for it (scanned instead). */
  stats?: string | null;
}

/** schema.graphql's `WorkflowStatus`. */
export const WORKFLOW_STATUSES = ["RUNNING", "COMPLETED", "FAILED", "CANCELLED"] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

/** A workflow's status and the properties that say how it ended or was resumed. */
export interface WorkflowLifecycle {
  status: WorkflowStatus;
  /** ISO-8601; set when it ends, cleared when it is resumed. */
  endedAt: string | null;
  /** completeWorkflow's summary. */
  summary: string | null;
  /** failWorkflow's error, as JSON text ({message, code, nodeId, details}). */
  error: string | null;
  /** cancelWorkflow's reason. */
  cancelReason: string | null;
  /** The last resumeWorkflow: the node it forked at, the name asked for, and the new branch. */
  resumedFromNodeId: string | null;
  resumeName: string | null;
  resumeBranchId: string | null;
}

/** The lifecycle of a workflow that has never ended. */
export const RUNNING: WorkflowLifecycle = Object.freeze({
  status: "RUNNING",
  endedAt: null,
  summary: null,
  error: null,
  cancelReason: null,
  resumedFromNodeId: null,
  resumeName: null,
  resumeBranchId: null,
});

/** What a write read before planning: the locked workflows, the nodes it refers to and their branches. */
export interface WriteSnapshot {
  workflows: WorkflowCounters[];
  nodes: { node: StoredNode; links: NodeLinks }[];
  branches: BranchState[];
}

export interface WritePlanOptions {
  /** The time every planned node, branch and event carries (ISO-8601). @default now */
  timestamp?: string;
  /** Makes the id of each new branch. @default randomUUID */
  newId?: () => string;
}

/** A planned edge between two nodes, as the flush writes it. */
export interface PlannedEdge {
  type: "OPTION_OF" | "MONITORS" | "CHOSEN_OPTION";
  from: string;
  to: string;
  /** CHOSEN_OPTION: why, by whom, its seq and time. */
  reason: string | null;
  by: string | null;
  seq: number | null;
  at: string | null;
  /** OPTION_OF: the option's place in the order offered. */
  index: number | null;
}

/** The parameters of the flush statement: everything one write planned. */
export interface FlushParameters {
  /** Each with `usage`: its usage as node properties (see usageProperties). */
  nodes: (StoredNode & { usage: Record<string, string | number> })[];
  newBranches: BranchState[];
  changedBranches: BranchState[];
  edges: PlannedEdge[];
  /** Events that are not nodes, kept as (:WorkflowEvent) records so they can be replayed. */
  records: Record<string, unknown>[];
  /** The workflows whose counters changed, with their new values. */
  workflows: WorkflowCounters[];
}

/** A node to add (the caller has validated its fields). */
export interface NodeSpec {
  id: string;
  workflowId: string;
  parentId: string;
  type: Exclude<NodeType, "SYSTEM">;
  content: string;
  metadata: string | null;
  agentId: string | null;
  userId: string | null;
  /** Continue this branch: the parent must be its head (or, while it is empty, its fork point). */
  branchId: string | null;
  /** Always start a new branch at the parent (each OPTION node does). */
  newBranchName?: string;
  watchBranchIds?: string[];
  /** Only these principals may read its content and metadata (normalised); null: all. */
  restrictedTo?: string[] | null;
  /** The authenticated `sub` writing it. */
  writtenBy?: string | null;
  /** Where in the request the node came from, for error messages. */
  field: string;
}

/** A decision's option: a new OPTION node, or an existing node of the workflow offered as one. */
export type DecisionOption =
  { kind: "new"; spec: NodeSpec; field: string } | { kind: "existing"; id: string; field: string };

/**
 * Plans one write against what it read, with no I/O: nodes with their seq and branch (and the
 * decisions and monitors made of them), new and changed branches, edges, events and event records,
 * and finally the flush parameters. Each plan sees its own earlier plans (a node planned first can
 * be the parent of the next). The methods throw the client-facing errors of src/errors.ts; a write
 * that throws is rolled back whole.
 *
 * The branch rules live here, because every write path that adds nodes shares them: appending
 * under the head of a branch continues that branch; appending under a node that already has a
 * child forks a new branch from it (named `branch-<branchCount>`); naming a branch continues it
 * only if the parent is its head, or its fork point while it is empty; a node with
 * `newBranchName` (an OPTION) always opens a branch of its own.
 */
export class WritePlan {
  /** The events planned, in seq order (published after commit). */
  readonly events: WorkflowEventMessage[] = [];
  private readonly timestamp: string;
  private readonly newId: () => string;
  private readonly workflows = new Map<
    string,
    WorkflowCounters & {
      changed: boolean;
      lifecycleChanged: boolean;
      lifecycle: WorkflowLifecycle;
      /** The counters parsed from `stats`, once a node is counted in them. */
      counters?: WorkflowStats;
    }
  >();
  private readonly usage = new Map<string, NodeUsage | null>();
  private readonly nodes = new Map<string, StoredNode>();
  private readonly links = new Map<string, NodeLinks>();
  private readonly stored = new Set<string>();
  private readonly branches = new Map<string, BranchState>();
  private readonly newNodes: StoredNode[] = [];
  private readonly newBranches = new Set<string>();
  private readonly changedBranches = new Set<string>();
  private readonly edges: PlannedEdge[] = [];
  private readonly records: Record<string, unknown>[] = [];

  /** Starts from what was read; the snapshot's branch objects are updated in place as nodes are planned. */
  constructor(snapshot: WriteSnapshot, options: WritePlanOptions = {}) {
    this.timestamp = options.timestamp ?? new Date().toISOString();
    this.newId = options.newId ?? randomUUID;
    for (const w of snapshot.workflows) {
      this.workflows.set(w.id, { ...w, lifecycle: w.lifecycle ?? RUNNING, changed: false, lifecycleChanged: false });
    }
    for (const { node, links } of snapshot.nodes) {
      this.nodes.set(node.id, node);
      this.links.set(node.id, links);
      this.stored.add(node.id);
    }
    for (const branch of snapshot.branches) this.branches.set(branch.id, branch);
  }

  /** @throws NOT_FOUND when the workflow does not exist. */
  requireWorkflow(workflowId: string, field: string): void {
    if (!this.workflows.has(workflowId)) throw notFound(`Workflow ${workflowId} does not exist`, { field });
  }

  /** The workflow's status and how it ended (it must be in the snapshot). */
  lifecycle(workflowId: string): WorkflowLifecycle {
    return this.workflows.get(workflowId)!.lifecycle;
  }

  /**
   * Only a RUNNING workflow takes new nodes, choices and branches.
   * @throws CONFLICT naming the workflow's status (`extensions.status`).
   */
  requireRunning(workflowId: string, field: string): void {
    const { status } = this.lifecycle(workflowId);
    if (status !== "RUNNING") {
      throw conflict(`Workflow ${workflowId} is ${status}: only a RUNNING workflow can be written to`, {
        field,
        status,
      });
    }
  }

  /**
   * Plans a change of the workflow's status with its WORKFLOW_STATUS_CHANGED event; `changes` are
   * the lifecycle properties that change with it.
   */
  setWorkflowStatus(workflowId: string, changes: Partial<WorkflowLifecycle> & { status: WorkflowStatus }): void {
    const workflow = this.workflows.get(workflowId)!;
    const seq = this.nextSeq(workflowId);
    workflow.lifecycle = {
      ...workflow.lifecycle,
      endedAt: changes.status === "RUNNING" ? null : this.timestamp,
      ...changes,
    };
    workflow.lifecycleChanged = true;
    this.record({ kind: "WORKFLOW_STATUS_CHANGED", seq, workflowId, at: this.timestamp, status: changes.status });
  }

  /** Records what resumeWorkflow did, so that a retry with the same input finds it. */
  setResume(
    workflowId: string,
    resume: Pick<WorkflowLifecycle, "resumedFromNodeId" | "resumeName" | "resumeBranchId">,
  ): void {
    const workflow = this.workflows.get(workflowId)!;
    workflow.lifecycle = { ...workflow.lifecycle, ...resume };
    workflow.lifecycleChanged = true;
  }

  /** A node stored before this write, if any (for idempotency checks). */
  storedNode(id: string): { node: StoredNode; links: NodeLinks } | undefined {
    return this.stored.has(id) ? { node: this.nodes.get(id)!, links: this.links.get(id)! } : undefined;
  }

  /**
   * A node stored or planned in this write, which must belong to `workflowId`.
   * @throws NOT_FOUND when it does not exist, BAD_USER_INPUT when it is in another workflow.
   */
  requireNode(id: string, workflowId: string | null, field: string, what = "Node"): StoredNode {
    const node = this.nodes.get(id);
    if (!node) throw notFound(`${what} ${id} does not exist`, { field });
    if (workflowId !== null && node.workflowId !== workflowId) {
      throw badUserInput(`${what} ${id} belongs to another workflow`, { field });
    }
    return node;
  }

  /**
   * A branch of `workflowId`.
   * @throws NOT_FOUND when it does not exist, BAD_USER_INPUT when it is in another workflow.
   */
  requireBranch(id: string, workflowId: string | null, field: string): BranchState {
    const branch = this.branches.get(id);
    if (!branch) throw notFound(`Branch ${id} does not exist`, { field });
    if (workflowId !== null && branch.workflowId !== workflowId) {
      throw badUserInput(`Branch ${id} belongs to another workflow`, { field });
    }
    return branch;
  }

  /** A node's outgoing option, monitor and choice edges (none for a node planned here). */
  linksOf(id: string): NodeLinks {
    return this.links.get(id) ?? { optionIds: [], targetIds: [], chosenId: null };
  }

  /** Draws the workflow's next seq. */
  private nextSeq(workflowId: string): number {
    const workflow = this.workflows.get(workflowId)!;
    workflow.lastSeq += 1;
    workflow.changed = true;
    return workflow.lastSeq;
  }

  /**
   * Plans a node under its parent, on the branch the rules give it, and its event.
   * @throws NOT_FOUND (workflow, parent or named branch), BAD_USER_INPUT (another workflow's),
   *   CONFLICT (the id exists, or the named branch cannot continue under the parent).
   */
  addNode(spec: NodeSpec): StoredNode {
    this.requireWorkflow(spec.workflowId, `${spec.field}.workflowId`);
    this.requireRunning(spec.workflowId, `${spec.field}.workflowId`);
    if (this.nodes.has(spec.id)) throw conflict(`Node ${spec.id} already exists`, { field: `${spec.field}.id` });
    const parent = this.requireNode(spec.parentId, spec.workflowId, `${spec.field}.parentId`, "Parent node");
    const seq = this.nextSeq(spec.workflowId);
    const branch = this.branchFor(parent, spec, seq);
    const node: StoredNode = {
      id: spec.id,
      workflowId: spec.workflowId,
      branchId: branch.id,
      type: spec.type,
      content: spec.content,
      metadata: spec.metadata,
      timestamp: this.timestamp,
      seq,
      depth: parent.depth + 1,
      agentId: spec.agentId,
      userId: spec.userId,
      parentId: parent.id,
      watchBranchIds: spec.watchBranchIds ?? null,
      restrictedTo: spec.restrictedTo ?? null,
      writtenBy: spec.writtenBy ?? null,
    };
    branch.headId = node.id;
    branch.length += 1;
    if (!this.newBranches.has(branch.id)) this.changedBranches.add(branch.id);
    this.nodes.set(node.id, node);
    this.newNodes.push(node);
    const workflow = this.workflows.get(spec.workflowId)!;
    workflow.nodeCount += 1;
    const usage = usageOf(node.metadata);
    this.usage.set(node.id, usage);
    if (workflow.stats) {
      workflow.counters ??= JSON.parse(workflow.stats) as WorkflowStats;
      countNode(workflow.counters, node, usage);
    }
    this.events.push({
      kind: nodeEventKind(spec.type),
      seq,
      workflowId: node.workflowId,
      at: this.timestamp,
      node,
      branchId: branch.id,
      lineage: branch.lineage,
    });
    return node;
  }

  private branchFor(parent: StoredNode, spec: NodeSpec, seq: number): BranchState {
    if (spec.branchId) {
      const named = this.requireBranch(spec.branchId, spec.workflowId, `${spec.field}.branchId`);
      const continues = named.headId === parent.id || (named.headId === null && named.forkedFromId === parent.id);
      if (!continues) {
        throw conflict(`Branch ${named.id} cannot continue under ${parent.id}: that node is not its head`, {
          field: `${spec.field}.branchId`,
          headId: named.headId,
        });
      }
      return named;
    }
    const parentBranch = this.branches.get(parent.branchId);
    if (!spec.newBranchName && parentBranch && parentBranch.headId === parent.id) return parentBranch;
    const workflow = this.workflows.get(spec.workflowId)!;
    return this.createBranch(spec.workflowId, spec.newBranchName ?? `branch-${workflow.branchCount}`, parent, seq);
  }

  /** A new branch at `from`: its lineage is the lineage of `from`'s branch, then itself. */
  private createBranch(workflowId: string, name: string, from: StoredNode, seq: number): BranchState {
    const id = this.newId();
    const parentLineage = this.branches.get(from.branchId)?.lineage ?? [from.branchId];
    const branch: BranchState = {
      id,
      workflowId,
      name,
      status: "ACTIVE",
      createdAt: this.timestamp,
      seq,
      length: 0,
      headId: null,
      forkedFromId: from.id,
      lineage: [...parentLineage.filter((b) => b !== id), id],
      restrictedTo: null,
    };
    this.branches.set(branch.id, branch);
    this.newBranches.add(branch.id);
    this.workflows.get(workflowId)!.branchCount += 1;
    return branch;
  }

  /**
   * Plans a DECISION node and its options: each new option is an OPTION node under the decision
   * (on a branch of its own, as its spec says), each existing one a node of the same workflow;
   * every option gets an OPTION_OF edge with its place in the order offered.
   * @throws BAD_USER_INPUT for a new option whose id exists (offer it with existingNodeId) or an
   *   existing option of another workflow, NOT_FOUND for an unknown one, and what addNode throws.
   */
  addDecision(decision: NodeSpec, options: DecisionOption[]): StoredNode {
    for (const option of options) {
      if (option.kind === "existing")
        this.requireNode(option.id, decision.workflowId, `${option.field}.existingNodeId`);
      else if (this.stored.has(option.spec.id)) {
        throw badUserInput(`Node ${option.spec.id} already exists; offer it with existingNodeId`, {
          field: `${option.field}.id`,
        });
      }
    }
    const node = this.addNode(decision);
    options.forEach((option, index) => {
      const optionId = option.kind === "new" ? this.addNode(option.spec).id : option.id;
      // The order offered cannot come from the options' seq (an offered existing node is older
      // than the decision's new options): it is kept on the edge.
      this.addEdge("OPTION_OF", node.id, optionId, index);
    });
    return node;
  }

  /**
   * Plans a MONITOR node watching the branches of its targets, with a MONITORS edge to each.
   * @throws NOT_FOUND for an unknown target, BAD_USER_INPUT for one of another workflow, and what
   *   addNode throws.
   */
  addMonitor(spec: NodeSpec, targetIds: string[]): StoredNode {
    const targets = targetIds.map((id, i) =>
      this.requireNode(id, spec.workflowId, `${spec.field}.targetIds[${i}]`, "Target"),
    );
    const monitor = this.addNode({ ...spec, watchBranchIds: [...new Set(targets.map((t) => t.branchId))] });
    for (const target of targets) this.addEdge("MONITORS", monitor.id, target.id);
    return monitor;
  }

  /** Plans an empty branch at a node (forkBranch), with its BRANCH_CREATED event. */
  forkBranch(from: StoredNode, name: string | null): BranchState {
    this.requireRunning(from.workflowId, "input.fromNodeId");
    const seq = this.nextSeq(from.workflowId);
    const workflow = this.workflows.get(from.workflowId)!;
    const branch = this.createBranch(from.workflowId, name ?? `branch-${workflow.branchCount}`, from, seq);
    this.record({
      kind: "BRANCH_CREATED",
      seq,
      workflowId: from.workflowId,
      at: this.timestamp,
      branchId: branch.id,
      lineage: branch.lineage,
    });
    return branch;
  }

  /** Plans a branch status change with its BRANCH_STATUS_CHANGED event. */
  setBranchStatus(branch: BranchState, status: BranchStatus): void {
    const seq = this.nextSeq(branch.workflowId);
    branch.status = status;
    if (!this.newBranches.has(branch.id)) this.changedBranches.add(branch.id);
    this.record(
      {
        kind: "BRANCH_STATUS_CHANGED",
        seq,
        workflowId: branch.workflowId,
        at: this.timestamp,
        branchId: branch.id,
        lineage: branch.lineage,
      },
      { status },
    );
  }

  /**
   * Plans a change of who may see a branch (and the branches forked from it), with its
   * BRANCH_VISIBILITY_CHANGED event. `restrictedTo` is normalised; null makes it visible to every
   * reader of the workflow again.
   */
  setBranchVisibility(branch: BranchState, restrictedTo: string[] | null): void {
    const seq = this.nextSeq(branch.workflowId);
    branch.restrictedTo = restrictedTo;
    if (!this.newBranches.has(branch.id)) this.changedBranches.add(branch.id);
    this.record(
      {
        kind: "BRANCH_VISIBILITY_CHANGED",
        seq,
        workflowId: branch.workflowId,
        at: this.timestamp,
        branchId: branch.id,
        lineage: branch.lineage,
      },
      { restrictedTo },
    );
  }

  /** Plans `(decision)-[:CHOSEN_OPTION]->(option)` with its OPTION_CHOSEN event. */
  chooseOption(decision: StoredNode, option: StoredNode, reason: string | null, by: string | null): void {
    this.requireRunning(decision.workflowId, "input.decisionId");
    const seq = this.nextSeq(decision.workflowId);
    this.edges.push({
      type: "CHOSEN_OPTION",
      from: decision.id,
      to: option.id,
      reason,
      by,
      seq,
      at: this.timestamp,
      index: null,
    });
    const links = this.linksOf(decision.id);
    links.chosenId = option.id;
    this.links.set(decision.id, links);
    this.record({
      kind: "OPTION_CHOSEN",
      seq,
      workflowId: decision.workflowId,
      at: this.timestamp,
      decisionId: decision.id,
      optionId: option.id,
      lineage: this.branches.get(decision.branchId)?.lineage ?? [decision.branchId],
    });
  }

  /** Plans an edge between two nodes (OPTION_OF with its place in the order offered, MONITORS). */
  addEdge(type: "OPTION_OF" | "MONITORS", from: string, to: string, index?: number): void {
    this.edges.push({ type, from, to, reason: null, by: null, seq: null, at: null, index: index ?? null });
  }

  /** An event that is not a node is kept as a (:WorkflowEvent) record, so it can be replayed. */
  private record(event: WorkflowEventMessage, extra: Record<string, unknown> = {}): void {
    this.events.push(event);
    // The lineage is read from the branch when the log is read back (it never changes).
    const { lineage: _lineage, ...stored } = event;
    this.records.push({
      decisionId: null,
      optionId: null,
      branchId: null,
      status: null,
      restrictedTo: null,
      ...stored,
      ...extra,
    });
  }

  /** What the flush writes; null when nothing was planned (the write changes nothing). */
  flushParameters(): FlushParameters | null {
    if (this.events.length === 0) return null;
    return {
      nodes: this.newNodes.map((node) => ({ ...node, usage: usageProperties(this.usage.get(node.id) ?? null) })),
      newBranches: [...this.newBranches].map((id) => this.branches.get(id)!),
      changedBranches: [...this.changedBranches].map((id) => this.branches.get(id)!),
      edges: [...this.edges],
      records: [...this.records],
      workflows: [...this.workflows.values()]
        .filter((w) => w.changed)
        .map(({ id, lastSeq, nodeCount, branchCount, lifecycle, lifecycleChanged, counters }) => ({
          id,
          lastSeq,
          nodeCount,
          branchCount,
          ...(lifecycleChanged ? { lifecycle } : {}),
          ...(counters ? { stats: JSON.stringify(counters) } : {}),
        })),
    };
  }

  /** The ids of the nodes and branches this write creates or changes, and of the options it chooses (for the audit trail). */
  writtenIds(): string[] {
    return [
      ...this.newNodes.map((n) => n.id),
      ...this.newBranches,
      ...this.changedBranches,
      ...this.edges.filter((e) => e.type === "CHOSEN_OPTION").flatMap((e) => [e.from, e.to]),
    ];
  }

  /** The branch state after this write (for results). */
  branch(id: string): BranchState | undefined {
    return this.branches.get(id);
  }

  /** A node stored or planned in this write. */
  node(id: string): StoredNode | undefined {
    return this.nodes.get(id);
  }
}
