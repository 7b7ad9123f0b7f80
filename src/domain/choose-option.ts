import type { AccessScope } from "../auth/access-scope";
import { badUserInput, conflict } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import type { WriteResult } from "./append-nodes";
import type { Store } from "./store";
import { checkInput, checkNotBlank, normalizeId } from "./validation";
import { workflowOfNode } from "./workflow-of";
import { WorkflowWriter } from "./workflow-writer";

/** schema.graphql's `ChooseOptionInput`. */
export interface ChooseOptionInput {
  decisionId: string;
  optionId: string;
  reason?: string | null;
  agentId?: string | null;
  userId?: string | null;
}

/**
 * Records `(decision)-[:CHOSEN_OPTION {reason, at, by, seq}]->(option)`; the choice draws a seq
 * and publishes OPTION_CHOSEN. Choosing the chosen option again changes nothing.
 * @throws GraphQLError NOT_FOUND; BAD_USER_INPUT when the option is not the decision's;
 *   CONFLICT when another option was chosen already (a decision is made once).
 */
export async function chooseOption(store: Store, input: ChooseOptionInput, caller: AccessScope): Promise<WriteResult> {
  checkInput(store, input, "input");
  checkNotBlank(input.decisionId, "input.decisionId");
  checkNotBlank(input.optionId, "input.optionId");
  const decisionId = normalizeId(input.decisionId);
  const optionId = normalizeId(input.optionId);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const workflowId = await workflowOfNode(tx, decisionId, "input.decisionId", "Decision");
    const writer = await WorkflowWriter.open(
      tx,
      { workflowIds: [workflowId], nodeIds: [decisionId, optionId] },
      caller,
    );
    const { plan } = writer;
    const decision = plan.requireNode(decisionId, workflowId, "input.decisionId", "Decision");
    if (decision.type !== "DECISION") {
      throw badUserInput(`Node ${decisionId} is a ${decision.type}, not a DECISION`, { field: "input.decisionId" });
    }
    const option = plan.requireNode(optionId, workflowId, "input.optionId", "Option");
    const links = plan.linksOf(decisionId);
    if (!links.optionIds.includes(optionId)) {
      throw badUserInput(`Node ${optionId} is not an option of decision ${decisionId}`, { field: "input.optionId" });
    }
    if (links.chosenId === optionId) {
      await writer.flush([decisionId, optionId]);
      return { nodes: [decision], events: [] };
    }
    if (links.chosenId !== null) {
      throw conflict(`Decision ${decisionId} was already made: option ${links.chosenId} was chosen`, {
        field: "input.optionId",
        chosenId: links.chosenId,
      });
    }
    plan.chooseOption(decision, option, input.reason ?? null, input.agentId ?? input.userId ?? null);
    await writer.flush();
    return { nodes: [decision], events: plan.events };
  });
}
