import type { AccessScope } from "../auth/access-scope";
import { badUserInput } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import type { WriteResult } from "./append-nodes";
import { assertSameNode } from "./idempotency";
import type { Store } from "./store";
import { checkContent, checkInput, checkNotBlank, idOrNew, metadataText, normalizeId } from "./validation";
import { WorkflowWriter } from "./workflow-writer";
import type { NodeSpec } from "./write-plan";

/** schema.graphql's `AddMonitorInput`. */
export interface AddMonitorInput {
  id?: string | null;
  workflowId: string;
  parentId: string;
  content: string;
  targetIds: string[];
  metadata?: Record<string, unknown> | null;
  agentId?: string | null;
  branchId?: string | null;
}

/**
 * Creates a MONITOR node under the parent with `(monitor)-[:MONITORS]->(target)` for each target.
 * The monitor watches the branch of each target: it records those branches, and
 * `monitoredActivity` streams what is appended to them afterwards.
 * @throws GraphQLError BAD_USER_INPUT (no targets, duplicates, other workflow), NOT_FOUND, CONFLICT.
 */
export async function addMonitor(store: Store, input: AddMonitorInput, caller: AccessScope): Promise<WriteResult> {
  checkInput(store, input, "input");
  checkNotBlank(input.workflowId, "input.workflowId");
  checkNotBlank(input.parentId, "input.parentId");
  checkContent(input.content, store.maxContentBytes, "input.content");
  const targetIds = input.targetIds.map(normalizeId);
  if (targetIds.length === 0) throw badUserInput("A monitor needs at least one target", { field: "input.targetIds" });
  if (new Set(targetIds).size !== targetIds.length) {
    throw badUserInput("Target ids must be unique", { field: "input.targetIds" });
  }
  const spec: NodeSpec = {
    id: idOrNew(input.id, "input.id"),
    workflowId: normalizeId(input.workflowId),
    parentId: normalizeId(input.parentId),
    type: "MONITOR",
    content: input.content,
    metadata: metadataText(input.metadata),
    agentId: input.agentId ?? null,
    userId: null,
    branchId: input.branchId ? normalizeId(input.branchId) : null,
    writtenBy: caller.sub,
    field: "input",
  };
  return writeTransaction(store.driver, store.database, async (tx) => {
    const writer = await WorkflowWriter.open(
      tx,
      {
        workflowIds: [spec.workflowId],
        nodeIds: [spec.id, spec.parentId, ...targetIds],
        branchIds: spec.branchId ? [spec.branchId] : [],
      },
      caller,
    );
    const { plan } = writer;
    plan.requireWorkflow(spec.workflowId, "input.workflowId");
    const stored = plan.storedNode(spec.id);
    if (stored) {
      assertSameNode(stored.node, spec, [["targetIds", stored.links.targetIds, [...targetIds].sort()]]);
      await writer.flush([stored.node.id]);
      return { nodes: [stored.node], events: [] };
    }
    const monitor = plan.addMonitor(spec, targetIds);
    await writer.flush();
    return { nodes: [monitor], events: plan.events };
  });
}
