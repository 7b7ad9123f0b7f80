import type { AccessScope } from "../auth/access-scope";
import type { ManagedTransaction } from "neo4j-driver";
import { badUserInput } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import type { WriteResult } from "./append-nodes";
import { assertSameDecision, type OfferedOption, type StoredOption } from "./idempotency";
import type { Store } from "./store";
import {
  checkContent,
  checkInput,
  checkNoAncestorOptions,
  checkNotBlank,
  idOrNew,
  metadataText,
  normalizeId,
} from "./validation";
import { normalizeRestrictedTo } from "./visibility";
import { WorkflowWriter } from "./workflow-writer";
import type { NodeSpec } from "./write-plan";

/** schema.graphql's `OptionInput`: a new OPTION node, or an existing node offered as an option. */
export interface OptionInput {
  id?: string | null;
  content?: string | null;
  metadata?: Record<string, unknown> | null;
  agentId?: string | null;
  existingNodeId?: string | null;
  restrictedTo?: string[] | null;
}

/** schema.graphql's `AddDecisionInput`. */
export interface AddDecisionInput {
  id?: string | null;
  workflowId: string;
  parentId: string;
  content: string;
  options: OptionInput[];
  metadata?: Record<string, unknown> | null;
  agentId?: string | null;
  userId?: string | null;
  branchId?: string | null;
  restrictedTo?: string[] | null;
}

/** A validated option; `clientId` tells whether the client named a new option's id (else it was generated). */
type PreparedOption =
  { kind: "new"; spec: NodeSpec; field: string; clientId: boolean } | { kind: "existing"; id: string; field: string };

/**
 * Creates a DECISION node under the parent and its options in one transaction: each new option is
 * an OPTION node under the decision, on a branch of its own, linked `(decision)-[:OPTION_OF]->`;
 * an `existingNodeId` links a node of the same workflow instead (a cross-branch decision). Each
 * OPTION_OF edge records the option's place in the order offered (`index`).
 * Retrying with the same id and input returns the decision: the options are compared by what was
 * offered (content, metadata, agentId, and the id when the client named one), so a retry whose new
 * options name no id (they were generated the first time) is the same input.
 * @throws GraphQLError BAD_USER_INPUT (no options, duplicate ids, other workflow), NOT_FOUND, CONFLICT.
 */
export async function addDecision(store: Store, input: AddDecisionInput, caller: AccessScope): Promise<WriteResult> {
  checkInput(store, input, "input");
  checkNotBlank(input.workflowId, "input.workflowId");
  checkNotBlank(input.parentId, "input.parentId");
  checkContent(input.content, store.maxContentBytes, "input.content");
  if (input.options.length === 0) {
    throw badUserInput("A decision needs at least one option", { field: "input.options" });
  }
  if (input.options.length > store.maxBatchSize) {
    throw badUserInput(`A decision offers at most ${store.maxBatchSize} options`, { field: "input.options" });
  }
  const decision: NodeSpec = {
    id: idOrNew(input.id, "input.id"),
    workflowId: normalizeId(input.workflowId),
    parentId: normalizeId(input.parentId),
    type: "DECISION",
    content: input.content,
    metadata: metadataText(input.metadata),
    agentId: input.agentId ?? null,
    userId: input.userId ?? null,
    branchId: input.branchId ? normalizeId(input.branchId) : null,
    restrictedTo: normalizeRestrictedTo(input.restrictedTo, "input.restrictedTo"),
    writtenBy: caller.sub,
    field: "input",
  };
  const options = input.options.map((option, index) =>
    prepareOption(store, option, decision, `input.options[${index}]`),
  );
  const optionIds = options.map((o) => (o.kind === "new" ? o.spec.id : o.id));
  if (new Set(optionIds).size !== optionIds.length) {
    throw badUserInput("Option ids must be unique", { field: "input.options" });
  }
  if (optionIds.includes(decision.id))
    throw badUserInput("A decision cannot be its own option", { field: "input.options" });

  return writeTransaction(store.driver, store.database, async (tx) => {
    const writer = await WorkflowWriter.open(
      tx,
      {
        workflowIds: [decision.workflowId],
        nodeIds: [decision.id, decision.parentId, ...optionIds],
        branchIds: decision.branchId ? [decision.branchId] : [],
      },
      caller,
    );
    const { plan } = writer;
    plan.requireWorkflow(decision.workflowId, "input.workflowId");
    const stored = plan.storedNode(decision.id);
    if (stored) {
      assertSameDecision(stored.node, decision, await readStoredOptions(tx, decision.id), options.map(offered));
      await writer.flush([stored.node.id]);
      return { nodes: [stored.node], events: [] };
    }
    await checkAncestors(tx, writer, decision, options);
    const node = plan.addDecision(decision, options);
    await writer.flush([node.id]);
    return { nodes: [node], events: plan.events };
  });
}

function prepareOption(store: Store, option: OptionInput, decision: NodeSpec, field: string): PreparedOption {
  if (option.existingNodeId) {
    if (
      option.content != null ||
      option.id != null ||
      option.metadata != null ||
      option.agentId != null ||
      option.restrictedTo != null
    ) {
      throw badUserInput(
        "An option is either new (id, content, metadata, agentId, restrictedTo) or an existingNodeId, not both",
        {
          field,
        },
      );
    }
    return { kind: "existing", id: normalizeId(option.existingNodeId), field };
  }
  if (option.content == null) throw badUserInput("A new option needs content", { field: `${field}.content` });
  checkContent(option.content, store.maxContentBytes, `${field}.content`);
  return {
    kind: "new",
    field,
    clientId: option.id != null,
    spec: {
      id: idOrNew(option.id, `${field}.id`),
      workflowId: decision.workflowId,
      parentId: decision.id,
      type: "OPTION",
      content: option.content,
      metadata: metadataText(option.metadata),
      agentId: option.agentId ?? decision.agentId,
      userId: decision.userId,
      branchId: null,
      newBranchName: `option: ${option.content.slice(0, 40)}`,
      restrictedTo: normalizeRestrictedTo(option.restrictedTo, `${field}.restrictedTo`),
      writtenBy: decision.writtenBy,
      field,
    },
  };
}

/**
 * Offering the decision's parent or a node above it would lead back up the path that reached the
 * decision: BAD_USER_INPUT. Only an existing option no deeper than the parent can be one of them,
 * so the parent's chain is read (under the write lock taken by `open`) only when there is such an option.
 */
async function checkAncestors(
  tx: ManagedTransaction,
  writer: WorkflowWriter,
  decision: NodeSpec,
  options: PreparedOption[],
): Promise<void> {
  const parent = writer.plan.requireNode(decision.parentId, decision.workflowId, "input.parentId", "Parent node");
  const candidates = options.flatMap((o) =>
    o.kind === "existing" && writer.plan.requireNode(o.id, decision.workflowId, o.field).depth <= parent.depth
      ? [{ existingNodeId: o.id, field: o.field }]
      : [],
  );
  if (candidates.length === 0) return;
  // Anchored on the parent only, so the walk goes up its one chain of PARENT_OF edges.
  const result = await tx.run(
    `MATCH (:WorkflowNode {id: $parentId})<-[:PARENT_OF*0..]-(a:WorkflowNode) RETURN collect(a.id) AS ids`,
    { parentId: parent.id },
  );
  checkNoAncestorOptions(candidates, new Set(result.records[0].get("ids") as string[]));
}

/** Reads a stored decision's options, for comparing a retry with what was offered the first time. */
async function readStoredOptions(tx: ManagedTransaction, decisionId: string): Promise<StoredOption[]> {
  const result = await tx.run(
    `MATCH (d:WorkflowNode {id: $decisionId})-[:OPTION_OF]->(o:WorkflowNode)
     RETURN o.id AS id, EXISTS { (d)-[:PARENT_OF]->(o) } AS created,
            o.content AS content, o.metadata AS metadata, o.agentId AS agentId`,
    { decisionId },
  );
  return result.records.map((r) => ({
    id: String(r.get("id")),
    created: Boolean(r.get("created")),
    content: (r.get("content") as string | null) ?? null,
    metadata: (r.get("metadata") as string | null) ?? null,
    agentId: (r.get("agentId") as string | null) ?? null,
  }));
}

/** What a prepared option offers, as the retry comparison sees it. */
function offered(option: PreparedOption): OfferedOption {
  if (option.kind === "existing") return { kind: "existing", id: option.id };
  const { id, content, metadata, agentId } = option.spec;
  return { kind: "new", id, clientId: option.clientId, content, metadata, agentId };
}
