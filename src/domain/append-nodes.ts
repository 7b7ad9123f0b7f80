import type { ManagedTransaction } from "neo4j-driver";
import { badUserInput, conflict, notFound } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import type { Store } from "./store";
import { checkContent, checkNotBlank, idOrNew, metadataText, normalizeId } from "./validation";
import {
  NODE_TYPES,
  STORED_NODE_PROJECTION,
  WRITABLE_NODE_PROPERTIES,
  toStoredNode,
  type NodeType,
  type StoredNode,
} from "./workflow-node";

/** One node to append (schema.graphql's `AppendNodeInput`). */
export interface AppendNodeInput {
  id?: string | null;
  workflowId: string;
  parentId: string;
  type: NodeType;
  content: string;
  metadata?: Record<string, unknown> | null;
  agentId?: string | null;
  userId?: string | null;
  branchId?: string | null;
}

/** What an append did: every node of the input in order, and which of them it created. */
export interface AppendResult {
  nodes: StoredNode[];
  /** Nodes written by this call, in seq order (the others already existed: idempotent retries). */
  created: StoredNode[];
}

/**
 * Locks the workflows (so concurrent appends draw consecutive seq values one at a time), and reads
 * the nodes whose ids the batch uses and the parents it names, in one round trip.
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
  RETURN collect(w {.id, .lastSeq}) AS workflows
}
CALL (*) {
  UNWIND $nodeIds AS nodeId
  MATCH (n:WorkflowNode {id: nodeId})
  RETURN collect(${STORED_NODE_PROJECTION}) AS existing
}
CALL (*) {
  UNWIND $parentIds AS parentId
  MATCH (n:WorkflowNode {id: parentId})
  RETURN collect(n {.id, .workflowId, .branchId, .depth}) AS parents
}
RETURN workflows, existing, parents`;

/** Creates the new nodes, then their PARENT_OF edges, then advances the workflows' counters. */
const CREATE_NODES = `
UNWIND $nodes AS row
CREATE (n:WorkflowNode)
SET n = row ${WRITABLE_NODE_PROPERTIES}, n.timestamp = datetime(row.timestamp)
WITH count(*) AS created
UNWIND $nodes AS row
MATCH (parent:WorkflowNode {id: row.parentId})
MATCH (child:WorkflowNode {id: row.id})
CREATE (parent)-[:PARENT_OF]->(child)
WITH count(*) AS linked
UNWIND $workflows AS update
MATCH (w:Workflow {id: update.id})
SET w.lastSeq = update.lastSeq, w.nodeCount = w.nodeCount + update.added
RETURN count(*) AS updated`;

interface ParentInfo {
  id: string;
  workflowId: string;
  branchId: string;
  depth: number;
}

/**
 * Appends nodes in one transaction, all or nothing. Each node's parent must be in the same
 * workflow, either stored already or created earlier in the same batch. A node whose id exists
 * with the same input is returned as it is (an idempotent retry); with different input it is a
 * CONFLICT.
 * @throws GraphQLError BAD_USER_INPUT, NOT_FOUND or CONFLICT; nothing is written then.
 */
export async function appendNodes(store: Store, inputs: AppendNodeInput[]): Promise<AppendResult> {
  if (inputs.length === 0) return { nodes: [], created: [] };
  if (inputs.length > store.maxBatchSize) {
    throw badUserInput(`A batch holds at most ${store.maxBatchSize} nodes, got ${inputs.length}`, {
      limit: store.maxBatchSize,
    });
  }
  const prepared = inputs.map((input, index) => prepare(store, input, inputs.length > 1 ? `input[${index}]` : "input"));
  const seen = new Set<string>();
  for (const node of prepared) {
    if (seen.has(node.id)) throw badUserInput(`The batch names id ${node.id} twice`, { id: node.id });
    seen.add(node.id);
  }
  const workflowIds = [...new Set(prepared.map((n) => n.workflowId))].sort();
  const nodeIds = prepared.map((n) => n.id);
  const parentIds = [...new Set(prepared.map((n) => n.parentId))];

  return writeTransaction(store.driver, store.database, async (tx) => {
    const read = await tx.run(LOCK_AND_READ, { workflowIds, nodeIds, parentIds });
    const record = read.records[0];
    const lastSeq = new Map<string, number>(
      (record.get("workflows") as { id: string; lastSeq: number }[]).map((w) => [w.id, Number(w.lastSeq)]),
    );
    const existing = new Map<string, StoredNode>(
      (record.get("existing") as Record<string, unknown>[]).map((v) => [String(v.id), toStoredNode(v)]),
    );
    const parents = new Map<string, ParentInfo>(
      (record.get("parents") as ParentInfo[]).map((p) => [p.id, { ...p, depth: Number(p.depth) }]),
    );

    const timestamp = new Date().toISOString();
    const nodes: StoredNode[] = [];
    const created: StoredNode[] = [];
    for (const [index, input] of prepared.entries()) {
      const where = prepared.length > 1 ? `input[${index}]` : "input";
      if (!lastSeq.has(input.workflowId)) {
        throw notFound(`Workflow ${input.workflowId} does not exist`, { field: `${where}.workflowId` });
      }
      const stored = existing.get(input.id);
      if (stored) {
        assertSameInput(stored, input, where);
        nodes.push(stored);
        parents.set(stored.id, stored);
        continue;
      }
      const parent = parents.get(input.parentId);
      if (!parent) {
        throw notFound(`Parent node ${input.parentId} does not exist`, { field: `${where}.parentId` });
      }
      if (parent.workflowId !== input.workflowId) {
        throw badUserInput(`Parent node ${input.parentId} belongs to another workflow`, {
          field: `${where}.parentId`,
        });
      }
      const seq = lastSeq.get(input.workflowId)! + 1;
      lastSeq.set(input.workflowId, seq);
      const node: StoredNode = {
        ...input,
        branchId: input.branchId ?? parent.branchId,
        timestamp,
        seq,
        depth: parent.depth + 1,
      };
      nodes.push(node);
      created.push(node);
      parents.set(node.id, node);
    }
    if (created.length > 0) await writeNodes(tx, created);
    return { nodes, created };
  });
}

async function writeNodes(tx: ManagedTransaction, created: StoredNode[]): Promise<void> {
  const perWorkflow = new Map<string, { id: string; lastSeq: number; added: number }>();
  for (const node of created) {
    const entry = perWorkflow.get(node.workflowId) ?? { id: node.workflowId, lastSeq: 0, added: 0 };
    entry.lastSeq = Math.max(entry.lastSeq, node.seq);
    entry.added += 1;
    perWorkflow.set(node.workflowId, entry);
  }
  await tx.run(CREATE_NODES, { nodes: created, workflows: [...perWorkflow.values()] });
}

type PreparedInput = Omit<StoredNode, "timestamp" | "seq" | "depth" | "branchId"> & {
  parentId: string;
  branchId: string | null;
};

function prepare(store: Store, input: AppendNodeInput, where: string): PreparedInput {
  if (!NODE_TYPES.includes(input.type)) throw badUserInput(`${where}.type is not a NodeType`);
  if (input.type === "SYSTEM") {
    throw badUserInput("SYSTEM nodes are created by startWorkflow; a workflow has one root", {
      field: `${where}.type`,
    });
  }
  checkNotBlank(input.workflowId, `${where}.workflowId`);
  checkNotBlank(input.parentId, `${where}.parentId`);
  checkContent(input.content, store.maxContentBytes, `${where}.content`);
  return {
    id: idOrNew(input.id, `${where}.id`),
    workflowId: normalizeId(input.workflowId),
    parentId: normalizeId(input.parentId),
    type: input.type,
    content: input.content,
    metadata: metadataText(input.metadata),
    agentId: input.agentId ?? null,
    userId: input.userId ?? null,
    branchId: input.branchId ? normalizeId(input.branchId) : null,
  };
}

function assertSameInput(stored: StoredNode, input: PreparedInput, where: string): void {
  const differing = (
    [
      ["workflowId", stored.workflowId, input.workflowId],
      ["parentId", stored.parentId, input.parentId],
      ["type", stored.type, input.type],
      ["content", stored.content, input.content],
      ["metadata", stored.metadata, input.metadata],
      ["agentId", stored.agentId, input.agentId],
      ["userId", stored.userId, input.userId],
      ["branchId", stored.branchId, input.branchId ?? stored.branchId],
    ] as const
  )
    .filter(([, a, b]) => a !== b)
    .map(([field]) => field);
  if (differing.length > 0) {
    throw conflict(`Node ${stored.id} already exists with a different ${differing.join(", ")}`, {
      field: `${where}.id`,
      differing,
    });
  }
}
