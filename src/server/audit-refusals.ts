import { getOperationAST, Kind, parse, type OperationDefinitionNode } from "graphql";
import { inputDigest, recordRefusal } from "../domain/audit";
import type { Store } from "../domain/store";
import type { Logger } from "../logger";

/** The root field a mutation operation calls first (`appendNode`, …), or undefined for other operations. */
export function mutationField(operation: OperationDefinitionNode | null | undefined): string | undefined {
  if (operation?.operation !== "mutation") return undefined;
  const first = operation.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return first?.kind === Kind.FIELD ? first.name.value : undefined;
}

/** {@link mutationField} of a request's query text (undefined when it does not parse). */
export function mutationFieldOfText(query: unknown, operationName?: unknown): string | undefined {
  if (typeof query !== "string") return undefined;
  try {
    return mutationField(getOperationAST(parse(query), typeof operationName === "string" ? operationName : undefined));
  } catch {
    return undefined;
  }
}

/** The principal an audit entry names for a caller whose token was missing or refused. */
export const UNAUTHENTICATED_PRINCIPAL = "(unauthenticated)";

/**
 * Records a mutation refused before it ran (by the role gate, or for want of a valid token) in the
 * audit trail. Never throws: the refusal is answered whatever happens to the record (a failure is logged).
 */
export function createRefusalRecorder(store: Store, logger: Logger) {
  return async (
    who: { sub: string; roles: readonly string[] },
    request: { id: string; clientAddress: string | null },
    operation: string,
    variables: unknown,
    outcome: "FORBIDDEN" | "UNAUTHENTICATED",
  ): Promise<void> => {
    try {
      await recordRefusal(
        store,
        who,
        {
          operation,
          requestId: request.id,
          clientAddress: request.clientAddress,
          inputDigest: inputDigest(variables ?? {}),
        },
        outcome,
      );
    } catch (error) {
      logger.warn("could not record a refused mutation in the audit trail", { error: error as Error });
    }
  };
}
