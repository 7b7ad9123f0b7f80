import type { AccessScope } from "../auth/access-scope";
import { randomUUID } from "node:crypto";
import neo4j from "neo4j-driver";
import { checkRetentionDays } from "./retention-settings";
import { conflict } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import { recordAudit } from "./audit";
import { visibleWorkflow } from "./hidden-workflow";
import type { Store } from "./store";
import { checkContent, checkInput, checkNotBlank, idOrNew, metadataText } from "./validation";
import { accessOf, GRANTS_OF_W, type Grant } from "./workflow-access";
import { countNode, emptyStats } from "./analytics/usage";
import { STORED_NODE_PROJECTION, WRITABLE_NODE_PROPERTIES, toStoredNode, type StoredNode } from "./workflow-node";

/** schema.graphql's `StartWorkflowInput`. */
export interface StartWorkflowInput {
  id?: string | null;
  name: string;
  systemPrompt: string;
  metadata?: Record<string, unknown> | null;
  agentId?: string | null;
  userId?: string | null;
  /** Days after creation the retention job purges it (see retention-settings.ts); null: the default. */
  retentionDays?: number | null;
}

export interface StartWorkflowResult {
  workflowId: string;
  root: StoredNode;
  /** False when the workflow already existed with the same input (an idempotent retry). */
  created: boolean;
}

// A workflow being imported or purged (hidden) holds its id: taken, whoever asks.
const FIND = `
MATCH (w:Workflow {id: $id})
OPTIONAL MATCH (n:WorkflowNode {workflowId: $id, seq: 0})
RETURN w {.name, .metadata, grants: ${GRANTS_OF_W}} AS workflow, ${visibleWorkflow("w")} AS visible,
  CASE WHEN n IS NULL THEN null ELSE ${STORED_NODE_PROJECTION} END AS root`;

const CREATE = `
CREATE (w:Workflow {
  id: $id, name: $name, status: 'RUNNING', createdAt: datetime($timestamp), metadata: $metadata,
  lastSeq: 0, nodeCount: 1, branchCount: 1, mainBranchId: $root.branchId, retentionDays: $retentionDays,
  systemPrompt: $root.content, stats: $stats
})
CREATE (:WorkflowGrant {workflowId: $id, principal: $owner, access: 'OWNER'})
CREATE (:Branch {
  id: $root.branchId, workflowId: $id, name: 'main', status: 'ACTIVE', createdAt: datetime($timestamp),
  seq: 0, length: 1, headId: $root.id, forkedFromId: null, lineage: [$root.branchId]
})
WITH $root AS root
CREATE (n:WorkflowNode)
SET n = root ${WRITABLE_NODE_PROPERTIES}, n.timestamp = datetime($timestamp)
RETURN n.id AS id`;

/**
 * Creates a workflow and its root SYSTEM node (seq 0) in one transaction, owned by `owner` (the
 * caller's `sub`). Retrying with the same id and input returns the existing workflow; the same id
 * with other input, or an id taken by a workflow the caller may not read, is a CONFLICT.
 */
export async function startWorkflow(
  store: Store,
  input: StartWorkflowInput,
  caller: AccessScope,
  owner: string,
): Promise<StartWorkflowResult> {
  checkInput(store, input, "input");
  const id = idOrNew(input.id, "input.id");
  checkNotBlank(input.name, "input.name");
  checkContent(input.systemPrompt, store.maxContentBytes, "input.systemPrompt");
  const metadata = metadataText(input.metadata);
  const retentionDays = checkRetentionDays(input.retentionDays, "input.retentionDays");
  return writeTransaction(store.driver, store.database, async (tx) => {
    const found = await tx.run(FIND, { id });
    if (found.records.length > 0) {
      const workflow = found.records[0].get("workflow") as { name: string; metadata: string | null; grants: Grant[] };
      if (!found.records[0].get("visible") || accessOf(caller, workflow.grants) === null) {
        throw conflict(`Workflow id ${id} is taken`, { field: "input.id" });
      }
      const root = toStoredNode(found.records[0].get("root"));
      const same =
        workflow.name === input.name &&
        (workflow.metadata ?? null) === metadata &&
        root.content === input.systemPrompt &&
        root.agentId === (input.agentId ?? null) &&
        root.userId === (input.userId ?? null);
      if (!same) throw conflict(`Workflow ${id} already exists with different input`, { field: "input.id" });
      await recordAudit(tx, caller, { workflowIds: [id], targetIds: [root.id] });
      return { workflowId: id, root, created: false };
    }
    const timestamp = new Date().toISOString();
    const root: StoredNode = {
      id: randomUUID(),
      workflowId: id,
      branchId: randomUUID(),
      type: "SYSTEM",
      content: input.systemPrompt,
      metadata: null,
      timestamp,
      seq: 0,
      depth: 0,
      agentId: input.agentId ?? null,
      userId: input.userId ?? null,
      parentId: null,
      watchBranchIds: null,
      restrictedTo: null,
      writtenBy: owner,
    };
    await tx.run(CREATE, {
      id,
      name: input.name,
      metadata,
      timestamp,
      root,
      owner,
      retentionDays: retentionDays === null ? null : neo4j.int(retentionDays),
      stats: rootStats(root),
    });
    await recordAudit(tx, caller, { workflowIds: [id], targetIds: [root.id, root.branchId] });
    return { workflowId: id, root, created: true };
  });
}

/** A new workflow's analytics counters: its root (the root's metadata is always null). */
function rootStats(root: StoredNode): string {
  const stats = emptyStats();
  countNode(stats, root, null);
  return JSON.stringify(stats);
}
