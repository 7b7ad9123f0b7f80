import { randomUUID } from "node:crypto";
import type { ManagedTransaction } from "neo4j-driver";
import { badUserInput, conflict, notFound } from "../errors";
import type { WorkflowEventKind, WorkflowEventMessage } from "./workflow-event";
import { BRANCH_PROJECTION, toBranchState, type BranchState, type BranchStatus } from "./branch";
import {
  STORED_NODE_PROJECTION,
  WRITABLE_NODE_PROPERTIES,
  toNodeLinks,
  toStoredNode,
  type NodeLinks,
  type NodeType,
  type StoredNode,
} from "./workflow-node";

/**
 * Locks the workflows (so concurrent writers draw consecutive seq values and see each other's
 * branch heads one at a time), then reads the workflows, the nodes the write refers to and their
 * branches, in one round trip.
 */
const LOCK_AND_READ = `
CALL (*) {
  UNWIND $workflowIds AS workflowId
  MATCH (w:Workflow {id: workflowId})
  WITH collect(w) AS locked
  CALL apoc.lock.nodes(locked)
  RETURN size(locked) AS lockedCount
}
CALL (*) {
  UNWIND $workflowIds AS workflowId
  MATCH (w:Workflow {id: workflowId})
  RETURN collect(w {.id, .lastSeq, .nodeCount, branchCount: coalesce(w.branchCount, 1)}) AS workflows
}
CALL (*) {
  UNWIND $nodeIds AS nodeId
  MATCH (n:WorkflowNode {id: nodeId})
  RETURN collect(${STORED_NODE_PROJECTION}) AS nodes
}
CALL (*) {
  UNWIND $branchIds + [node IN nodes | node.branchId] AS branchId
  WITH DISTINCT branchId
  MATCH (b:Branch {id: branchId})
  RETURN collect(${BRANCH_PROJECTION}) AS branches
}
RETURN workflows, nodes, branches`;

/**
 * Writes everything planned, in one statement. Each node's PARENT_OF edge is created with it
 * (a parent created earlier in the same batch is found: Cypher reads its own writes).
 */
const FLUSH = `
CALL (*) {
  UNWIND $nodes AS row
  CREATE (n:WorkflowNode)
  SET n = row ${WRITABLE_NODE_PROPERTIES}, n.timestamp = datetime(row.timestamp)
  WITH n, row
  MATCH (parent:WorkflowNode {id: row.parentId})
  CREATE (parent)-[:PARENT_OF]->(n)
  RETURN count(*) AS createdNodes
}
CALL (*) {
  UNWIND $newBranches AS row
  CREATE (b:Branch)
  SET b = row {.id, .workflowId, .name, .status, .seq, .length, .headId, .forkedFromId},
      b.createdAt = datetime(row.createdAt)
  RETURN count(*) AS createdBranches
}
CALL (*) {
  UNWIND $changedBranches AS row
  MATCH (b:Branch {id: row.id})
  SET b.headId = row.headId, b.length = row.length, b.status = row.status
  RETURN count(*) AS changedBranches
}
CALL (*) {
  UNWIND [e IN $edges WHERE e.type = 'OPTION_OF'] AS e
  MATCH (from:WorkflowNode {id: e.from}) MATCH (to:WorkflowNode {id: e.to})
  CREATE (from)-[r:OPTION_OF]->(to)
  SET r.index = e.index
  RETURN count(*) AS optionEdges
}
CALL (*) {
  UNWIND [e IN $edges WHERE e.type = 'MONITORS'] AS e
  MATCH (from:WorkflowNode {id: e.from}) MATCH (to:WorkflowNode {id: e.to})
  CREATE (from)-[:MONITORS]->(to)
  RETURN count(*) AS monitorEdges
}
CALL (*) {
  UNWIND [e IN $edges WHERE e.type = 'CHOSEN_OPTION'] AS e
  MATCH (from:WorkflowNode {id: e.from}) MATCH (to:WorkflowNode {id: e.to})
  CREATE (from)-[r:CHOSEN_OPTION]->(to)
  SET r.reason = e.reason, r.by = e.by, r.seq = e.seq, r.at = datetime(e.at)
  RETURN count(*) AS chosenEdges
}
CALL (*) {
  UNWIND $records AS row
  CREATE (x:WorkflowEvent)
  SET x = row {.workflowId, .seq, .kind, .branchId, .decisionId, .optionId, .status}, x.at = datetime(row.at)
  RETURN count(*) AS records
}
CALL (*) {
  UNWIND $workflows AS row
  MATCH (w:Workflow {id: row.id})
  SET w.lastSeq = row.lastSeq, w.nodeCount = row.nodeCount, w.branchCount = row.branchCount
  RETURN count(*) AS workflows
}
RETURN createdNodes`;

interface WorkflowState {
  id: string;
  lastSeq: number;
  nodeCount: number;
  branchCount: number;
  changed: boolean;
}

interface PlannedEdge {
  type: "OPTION_OF" | "MONITORS" | "CHOSEN_OPTION";
  from: string;
  to: string;
  reason?: string | null;
  by?: string | null;
  seq?: number;
  at?: string;
  /** OPTION_OF: the option's place in the order offered. */
  index?: number;
}

/** What to read before writing: the workflows to lock and the nodes and branches involved. */
export interface WriteScope {
  workflowIds: string[];
  nodeIds: string[];
  branchIds?: string[];
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
  /** The event kind the node's write publishes. @default "NODE_ADDED" */
  kind?: WorkflowEventKind;
  /** Where in the request the node came from, for error messages. */
  field: string;
}

/**
 * One write to one or more workflows, inside one transaction: `open` locks and reads, the domain
 * operation plans nodes, edges, branches and events against what was read (seeing its own plans),
 * and `flush` writes it all in one statement. After commit, `events` are published in seq order.
 *
 * The branch rules live here, because every write path that adds nodes shares them: appending
 * under the head of a branch continues that branch; appending under a node that already has a
 * child forks a new branch from it; naming a branch continues it only if the parent is its head.
 */
export class WorkflowWriter {
  readonly events: WorkflowEventMessage[] = [];
  private readonly timestamp = new Date().toISOString();
  private readonly workflows = new Map<string, WorkflowState>();
  private readonly nodes = new Map<string, StoredNode>();
  private readonly links = new Map<string, NodeLinks>();
  private readonly stored = new Set<string>();
  private readonly branches = new Map<string, BranchState>();
  private readonly newNodes: StoredNode[] = [];
  private readonly newBranches = new Set<string>();
  private readonly changedBranches = new Set<string>();
  private readonly edges: PlannedEdge[] = [];
  private readonly records: Record<string, unknown>[] = [];

  private constructor(private readonly tx: ManagedTransaction) {}

  /** Locks the scope's workflows and reads its nodes and their branches. */
  static async open(tx: ManagedTransaction, scope: WriteScope): Promise<WorkflowWriter> {
    const writer = new WorkflowWriter(tx);
    const result = await tx.run(LOCK_AND_READ, {
      workflowIds: [...new Set(scope.workflowIds)].sort(),
      nodeIds: [...new Set(scope.nodeIds)],
      branchIds: [...new Set(scope.branchIds ?? [])],
    });
    const record = result.records[0];
    for (const w of record.get("workflows") as Record<string, unknown>[]) {
      writer.workflows.set(String(w.id), {
        id: String(w.id),
        lastSeq: Number(w.lastSeq),
        nodeCount: Number(w.nodeCount),
        branchCount: Number(w.branchCount),
        changed: false,
      });
    }
    for (const value of record.get("nodes") as Record<string, unknown>[]) {
      const node = toStoredNode(value);
      writer.nodes.set(node.id, node);
      writer.links.set(node.id, toNodeLinks(value));
      writer.stored.add(node.id);
    }
    for (const value of record.get("branches") as Record<string, unknown>[]) {
      const branch = toBranchState(value);
      writer.branches.set(branch.id, branch);
    }
    return writer;
  }

  /** @throws NOT_FOUND when the workflow does not exist. */
  requireWorkflow(workflowId: string, field: string): void {
    if (!this.workflows.has(workflowId)) throw notFound(`Workflow ${workflowId} does not exist`, { field });
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

  /** Plans a node under its parent, on the branch the rules give it, and its event. */
  addNode(spec: NodeSpec): StoredNode {
    this.requireWorkflow(spec.workflowId, `${spec.field}.workflowId`);
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
    };
    branch.headId = node.id;
    branch.length += 1;
    if (!this.newBranches.has(branch.id)) this.changedBranches.add(branch.id);
    this.nodes.set(node.id, node);
    this.newNodes.push(node);
    this.workflows.get(spec.workflowId)!.nodeCount += 1;
    this.events.push({
      kind: spec.kind ?? "NODE_ADDED",
      seq,
      workflowId: node.workflowId,
      at: this.timestamp,
      node,
      branchId: branch.id,
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
    return this.createBranchState(
      spec.workflowId,
      spec.newBranchName ?? `branch-${workflow.branchCount}`,
      parent.id,
      seq,
    );
  }

  private createBranchState(workflowId: string, name: string, forkedFromId: string, seq: number): BranchState {
    const branch: BranchState = {
      id: randomUUID(),
      workflowId,
      name,
      status: "ACTIVE",
      createdAt: this.timestamp,
      seq,
      length: 0,
      headId: null,
      forkedFromId,
    };
    this.branches.set(branch.id, branch);
    this.newBranches.add(branch.id);
    this.workflows.get(workflowId)!.branchCount += 1;
    return branch;
  }

  /** Plans an empty branch at a node (forkBranch), with its BRANCH_CREATED event. */
  forkBranch(from: StoredNode, name: string | null): BranchState {
    const seq = this.nextSeq(from.workflowId);
    const workflow = this.workflows.get(from.workflowId)!;
    const branch = this.createBranchState(from.workflowId, name ?? `branch-${workflow.branchCount}`, from.id, seq);
    this.record({ kind: "BRANCH_CREATED", seq, workflowId: from.workflowId, at: this.timestamp, branchId: branch.id });
    return branch;
  }

  /** Plans a branch status change with its BRANCH_STATUS_CHANGED event. */
  setBranchStatus(branch: BranchState, status: BranchStatus): void {
    const seq = this.nextSeq(branch.workflowId);
    branch.status = status;
    if (!this.newBranches.has(branch.id)) this.changedBranches.add(branch.id);
    this.record(
      { kind: "BRANCH_STATUS_CHANGED", seq, workflowId: branch.workflowId, at: this.timestamp, branchId: branch.id },
      { status },
    );
  }

  /** Plans `(decision)-[:CHOSEN_OPTION]->(option)` with its OPTION_CHOSEN event. */
  chooseOption(decision: StoredNode, option: StoredNode, reason: string | null, by: string | null): void {
    const seq = this.nextSeq(decision.workflowId);
    this.edges.push({ type: "CHOSEN_OPTION", from: decision.id, to: option.id, reason, by, seq, at: this.timestamp });
    this.linksOf(decision.id).chosenId = option.id;
    this.record({
      kind: "OPTION_CHOSEN",
      seq,
      workflowId: decision.workflowId,
      at: this.timestamp,
      decisionId: decision.id,
      optionId: option.id,
    });
  }

  /** Plans an edge between two nodes (OPTION_OF with its place in the order offered, MONITORS). */
  addEdge(type: "OPTION_OF" | "MONITORS", from: string, to: string, index?: number): void {
    this.edges.push({ type, from, to, index });
  }

  /** An event that is not a node is kept as a (:WorkflowEvent) record, so it can be replayed. */
  private record(event: WorkflowEventMessage, extra: Record<string, unknown> = {}): void {
    this.events.push(event);
    this.records.push({
      decisionId: null,
      optionId: null,
      branchId: null,
      status: null,
      ...event,
      ...extra,
    });
  }

  /** Writes everything planned. */
  async flush(): Promise<void> {
    if (this.events.length === 0) return;
    const changed = [...this.changedBranches].map((id) => this.branches.get(id)!);
    const result = await this.tx.run(FLUSH, {
      nodes: this.newNodes,
      newBranches: [...this.newBranches].map((id) => this.branches.get(id)!),
      changedBranches: changed,
      edges: this.edges.map((e) => ({ reason: null, by: null, seq: null, at: null, ...e, index: e.index ?? null })),
      records: this.records,
      workflows: [...this.workflows.values()].filter((w) => w.changed),
    });
    // Every new node must have found its parent; anything else would leave an orphan: roll back.
    const linked = Number(result.records[0]?.get("createdNodes") ?? 0);
    if (linked !== this.newNodes.length) {
      throw new Error(`write linked ${linked} of ${this.newNodes.length} new nodes to their parents`);
    }
  }

  /** The branch state after this write (for results). */
  branch(id: string): BranchState | undefined {
    return this.branches.get(id);
  }

  node(id: string): StoredNode | undefined {
    return this.nodes.get(id);
  }
}
