import type { AccessScope } from "../auth/access-scope";
import type { WorkflowEventMessage } from "./workflow-event";
import { badUserInput } from "../errors";
import { singleStatement, writeTransaction } from "../infra/neo4j";
import type { Store } from "./store";
import { checkContent, checkInput, checkNotBlank, idOrNew, metadataText, normalizeId } from "./validation";
import { assertSameNode } from "./idempotency";
import { NODE_TYPES, type NodeType, type StoredNode } from "./workflow-node";
import { normalizeRestrictedTo } from "./visibility";
import { WorkflowWriter } from "./workflow-writer";
import { fastAppend } from "./fast-append";
import type { NodeSpec } from "./write-plan";

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
  restrictedTo?: string[] | null;
}

/** What a write did: the nodes it returns, and the events to publish after commit. */
export interface WriteResult {
  nodes: StoredNode[];
  /** In seq order; empty when every node already existed (an idempotent retry). */
  events: WorkflowEventMessage[];
}

/**
 * Appends nodes in one transaction, all or nothing. Each node's parent must be in the same
 * workflow, either stored already or created earlier in the same batch; its branch follows the
 * rules of the write plan (`WritePlan`). A node whose id exists with the same input is returned as it is
 * (an idempotent retry); with different input it is a CONFLICT.
 * @throws GraphQLError BAD_USER_INPUT, NOT_FOUND or CONFLICT; nothing is written then.
 */
export async function appendNodes(store: Store, inputs: AppendNodeInput[], caller: AccessScope): Promise<WriteResult> {
  if (inputs.length === 0) return { nodes: [], events: [] };
  if (inputs.length > store.maxBatchSize) {
    throw badUserInput(`A batch holds at most ${store.maxBatchSize} nodes, got ${inputs.length}`, {
      limit: store.maxBatchSize,
    });
  }
  const specs = inputs.map((input, index) =>
    prepare(store, input, inputs.length > 1 ? `input[${index}]` : "input", caller.sub),
  );
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.id)) throw badUserInput(`The batch names id ${spec.id} twice`, { id: spec.id });
    seen.add(spec.id);
  }
  // The common append (one node extending its branch) is one statement, one round trip; any other
  // case wrote nothing there and is planned in full below.
  if (specs.length === 1) {
    const fast = await singleStatement(store.driver, store.database, "write", (s) => fastAppend(s, specs[0], caller));
    if (fast) return fast;
  }
  return writeTransaction(store.driver, store.database, async (tx) => {
    const writer = await WorkflowWriter.open(
      tx,
      {
        workflowIds: specs.map((s) => s.workflowId),
        nodeIds: specs.flatMap((s) => [s.id, s.parentId]),
        branchIds: specs.flatMap((s) => (s.branchId ? [s.branchId] : [])),
      },
      caller,
    );
    const { plan } = writer;
    const nodes = specs.map((spec) => {
      plan.requireWorkflow(spec.workflowId, `${spec.field}.workflowId`);
      const stored = plan.storedNode(spec.id);
      if (!stored) return plan.addNode(spec);
      assertSameNode(stored.node, spec);
      return stored.node;
    });
    await writer.flush(nodes.map((n) => n.id));
    return { nodes, events: plan.events };
  });
}

function prepare(store: Store, input: AppendNodeInput, field: string, writtenBy: string): NodeSpec {
  checkInput(store, input, field);
  if (!NODE_TYPES.includes(input.type)) throw badUserInput(`${field}.type is not a NodeType`);
  if (input.type === "SYSTEM") {
    throw badUserInput("SYSTEM nodes are created by startWorkflow; a workflow has one root", {
      field: `${field}.type`,
    });
  }
  checkNotBlank(input.workflowId, `${field}.workflowId`);
  checkNotBlank(input.parentId, `${field}.parentId`);
  checkContent(input.content, store.maxContentBytes, `${field}.content`);
  return {
    id: idOrNew(input.id, `${field}.id`),
    workflowId: normalizeId(input.workflowId),
    parentId: normalizeId(input.parentId),
    type: input.type,
    content: input.content,
    metadata: metadataText(input.metadata),
    agentId: input.agentId ?? null,
    userId: input.userId ?? null,
    branchId: input.branchId ? normalizeId(input.branchId) : null,
    restrictedTo: normalizeRestrictedTo(input.restrictedTo, `${field}.restrictedTo`),
    writtenBy,
    field,
  };
}
