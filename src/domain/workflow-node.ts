/** The node types of schema.graphql's `NodeType`. */
export const NODE_TYPES = ["SYSTEM", "MESSAGE", "ACTION", "DECISION", "OPTION", "MONITOR", "ERROR"] as const;
export type NodeType = (typeof NODE_TYPES)[number];

/**
 * A WorkflowNode's stored properties, as written to Neo4j and carried by events. `metadata` is
 * JSON text (Neo4j properties cannot hold maps); `timestamp` is an ISO-8601 string.
 */
export interface StoredNode {
  id: string;
  workflowId: string;
  branchId: string;
  type: NodeType;
  content: string;
  metadata: string | null;
  timestamp: string;
  seq: number;
  depth: number;
  agentId: string | null;
  userId: string | null;
  parentId: string | null;
  /** On a MONITOR: the branches it watches (those of its targets when it was created). */
  watchBranchIds: string[] | null;
  /** Only these principals (and the workflow's owners, admins) may read its content and metadata; null: all. */
  restrictedTo: string[] | null;
  /** The authenticated `sub` that wrote it (null for nodes written before it was recorded). */
  writtenBy: string | null;
}

/** A node's outgoing decision and monitor edges, read for idempotency checks and rules. */
export interface NodeLinks {
  optionIds: string[];
  targetIds: string[];
  chosenId: string | null;
}

/** The WorkflowNode fields a node's own properties answer (no other node, edge or branch read). */
export const NODE_OWN_FIELDS = [
  "id",
  "workflowId",
  "branchId",
  "type",
  "content",
  "metadata",
  "timestamp",
  "seq",
  "depth",
  "agentId",
  "userId",
  "writtenBy",
  "redacted",
] as const;

/**
 * The WorkflowNode fields that a StoredNode answers without a database read (`redacted` is false
 * for a node written without restrictedTo; one written with it is always read).
 */
export const STORED_NODE_FIELDS: ReadonlySet<string> = new Set([...NODE_OWN_FIELDS, "__typename"]);

/** Cypher map projection of the stored properties but `timestamp` (written with datetime()). */
export const WRITABLE_NODE_PROPERTIES =
  "{.id, .workflowId, .branchId, .type, .content, .metadata, .seq, .depth, .agentId, .userId, .watchBranchIds, .restrictedTo, .writtenBy}";

/**
 * Cypher projection of a node's own properties as a StoredNode, without its links (`parentId` is
 * null): for reads that list many nodes, where following four kinds of relationship per node would
 * cost more than the rest of the read (`n` bound to the node).
 */
export const STORED_PROPERTIES_PROJECTION = `n {
  .id, .workflowId, .branchId, .type, .content, .metadata, .seq, .depth, .agentId, .userId, .watchBranchIds,
  .restrictedTo, .writtenBy, timestamp: toString(n.timestamp)
}`;

/** Cypher projection that reads a node back as a StoredNode plus its links (`n` bound to the node). */
export const STORED_NODE_PROJECTION = `n {
  .id, .workflowId, .branchId, .type, .content, .metadata, .seq, .depth, .agentId, .userId, .watchBranchIds,
  .restrictedTo, .writtenBy,
  timestamp: toString(n.timestamp),
  parentId: [(p:WorkflowNode)-[:PARENT_OF]->(n) | p.id][0],
  optionIds: [(n)-[:OPTION_OF]->(o:WorkflowNode) | o.id],
  targetIds: [(n)-[:MONITORS]->(t:WorkflowNode) | t.id],
  chosenId: [(n)-[:CHOSEN_OPTION]->(c:WorkflowNode) | c.id][0]
}`;

/** Normalises a record value produced by {@link STORED_NODE_PROJECTION}. */
export function toStoredNode(value: Record<string, unknown>): StoredNode {
  return {
    id: String(value.id),
    workflowId: String(value.workflowId),
    branchId: String(value.branchId),
    type: value.type as NodeType,
    content: String(value.content),
    metadata: (value.metadata as string | null) ?? null,
    timestamp: new Date(String(value.timestamp)).toISOString(),
    seq: Number(value.seq),
    depth: Number(value.depth),
    agentId: (value.agentId as string | null) ?? null,
    userId: (value.userId as string | null) ?? null,
    parentId: (value.parentId as string | null) ?? null,
    watchBranchIds: (value.watchBranchIds as string[] | null) ?? null,
    restrictedTo: (value.restrictedTo as string[] | null) ?? null,
    writtenBy: (value.writtenBy as string | null) ?? null,
  };
}

/** The links part of a record value produced by {@link STORED_NODE_PROJECTION}. */
export function toNodeLinks(value: Record<string, unknown>): NodeLinks {
  return {
    optionIds: [...((value.optionIds as string[] | null) ?? [])].sort(),
    targetIds: [...((value.targetIds as string[] | null) ?? [])].sort(),
    chosenId: (value.chosenId as string | null) ?? null,
  };
}
