import neo4j from "neo4j-driver";
import type { AccessScope } from "../auth/access-scope";
import { MAX_RETENTION_DAYS } from "../config";
import { badUserInput } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import { recordAudit } from "./audit";
import { visibleWorkflow } from "./hidden-workflow";
import type { Store } from "./store";
import { checkInput, checkNotBlank, normalizeId } from "./validation";
import { checkAccess, GRANTS_OF_W, type Grant } from "./workflow-access";

/**
 * Per-workflow retention: `Workflow.retentionDays` (stored under that name, an integer, or absent
 * for "the server's RETENTION_DAYS, else forever") says how many days after its creation the
 * retention job purges a workflow. Counting from `createdAt`, as Langfuse does, makes the deadline
 * known from the start and unchanged by how the workflow ends.
 */

/** schema.graphql's `SetRetentionInput`. */
export interface SetRetentionInput {
  workflowId: string;
  retentionDays?: number | null;
}

/**
 * A `retentionDays` input as stored: null for null or absent.
 * @throws GraphQLError BAD_USER_INPUT unless a whole number from 1 to {@link MAX_RETENTION_DAYS}.
 */
export function checkRetentionDays(value: number | null | undefined, field: string): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < 1 || value > MAX_RETENTION_DAYS) {
    throw badUserInput(`${field} must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}`, {
      field,
      limit: MAX_RETENTION_DAYS,
    });
  }
  return value;
}

/**
 * When a workflow created at `createdAt` (ISO-8601) is due for purging: createdAt plus its own
 * `retentionDays`, else the server's default; null when it is kept forever.
 */
export function expiresAt(
  createdAt: unknown,
  retentionDays: unknown,
  defaultDays: number | null | undefined,
): string | null {
  const days = retentionDays == null ? (defaultDays ?? null) : Number(retentionDays);
  const created = toDate(createdAt);
  if (days === null || created === null) return null;
  return new Date(created.getTime() + days * 86_400_000).toISOString();
}

/** A DateTime as the driver or the library hands it over (a neo4j DateTime, a Date or ISO text). */
function toDate(value: unknown): Date | null {
  if (value == null) return null;
  if (value instanceof Date) return value;
  if (typeof (value as { toStandardDate?: unknown }).toStandardDate === "function") {
    return (value as { toStandardDate: () => Date }).toStandardDate();
  }
  // ISO text with nanoseconds: Date.parse takes milliseconds at most.
  const parsed = Date.parse(String(value).replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(parsed) ? null : new Date(parsed);
}

const LOCK_AND_READ = `
MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleWorkflow("w")}
CALL apoc.lock.nodes([w])
RETURN ${GRANTS_OF_W} AS grants`;

const SET = `MATCH (w:Workflow {id: $workflowId}) SET w.retentionDays = $retentionDays`;

/**
 * setRetention: sets (or, with null, clears) a workflow's `retentionDays`, with its audit entry, in
 * one transaction. Publishes no event.
 * @returns the workflow's id.
 * @throws GraphQLError BAD_USER_INPUT for days outside 1..36500; NOT_FOUND when the caller may not
 *   read the workflow (or it is deleted); FORBIDDEN when it may read it but is not an owner or admin.
 */
export async function setRetention(store: Store, caller: AccessScope, input: SetRetentionInput): Promise<string> {
  checkInput(store, input, "input");
  checkNotBlank(input.workflowId, "input.workflowId");
  const workflowId = normalizeId(input.workflowId);
  const retentionDays = checkRetentionDays(input.retentionDays, "input.retentionDays");
  return writeTransaction(store.driver, store.database, async (tx) => {
    const result = await tx.run(LOCK_AND_READ, { workflowId });
    const grants = result.records.length ? (result.records[0].get("grants") as Grant[]) : null;
    checkAccess(caller, workflowId, grants, "OWNER", "input.workflowId");
    await tx.run(SET, { workflowId, retentionDays: retentionDays === null ? null : neo4j.int(retentionDays) });
    await recordAudit(tx, caller, { workflowIds: [workflowId], targetIds: [] });
    return workflowId;
  });
}
