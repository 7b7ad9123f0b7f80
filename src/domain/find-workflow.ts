import { notFound } from "../errors";
import { readTransaction } from "../infra/neo4j";
import type { Store } from "./store";
import { normalizeId } from "./validation";

/** @returns the normalised workflow id. @throws GraphQLError NOT_FOUND when no workflow has this id. */
export async function requireWorkflow(store: Store, workflowId: string): Promise<string> {
  workflowId = normalizeId(workflowId);
  const found = await readTransaction(store.driver, store.database, (tx) =>
    tx.run("MATCH (w:Workflow {id: $workflowId}) RETURN w.id AS id", { workflowId }),
  );
  if (found.records.length === 0) throw notFound(`Workflow ${workflowId} does not exist`, { field: "workflowId" });
  return workflowId;
}
