import { getOperationAST, type ExecutionArgs, type GraphQLError } from "graphql";
import type { OperationPayload } from "./operation-pipeline";

type Checked = Omit<ExecutionArgs, "contextValue">;

/** How many distinct subscription operations are kept. @default 500 */
const DEFAULT_ENTRIES = 500;
/** Operations longer than this (query text plus variables) are checked each time, not kept. */
const MAX_KEY_LENGTH = 16 * 1024;

/**
 * Remembers the outcome of checking a subscription operation (parse, validation, shape and cost
 * limits), by its query text, operation name and variables, so that the subscribers who send the
 * same operation share one parsed document instead of each holding its own (a parsed document with
 * its tokens and locations is several kilobytes, kept for as long as the subscription runs), and
 * the operation is parsed and validated once. The check depends only on those three and on the
 * schema and limits, which do not change while the server runs, so a kept outcome is exact. Only
 * subscriptions that passed are kept (queries and mutations are not held for long, and a refused
 * operation is cheap to refuse again); the least recently used is dropped past `entries`.
 */
export function createCheckedOperations(
  check: (payload: OperationPayload) => Checked | GraphQLError[],
  entries = DEFAULT_ENTRIES,
): (payload: OperationPayload) => Checked | GraphQLError[] {
  const kept = new Map<string, Checked>();
  return (payload) => {
    const variables = payload.variables ? JSON.stringify(payload.variables) : "";
    const key = `${payload.operationName ?? ""}\u0000${variables}\u0000${payload.query}`;
    if (key.length > MAX_KEY_LENGTH) return check(payload);
    const hit = kept.get(key);
    if (hit) {
      // Most recently used last: Map keeps insertion order.
      kept.delete(key);
      kept.set(key, hit);
      return { ...hit };
    }
    const checked = check(payload);
    if (Array.isArray(checked)) return checked;
    if (getOperationAST(checked.document, checked.operationName)?.operation !== "subscription") return checked;
    kept.set(key, checked);
    if (kept.size > entries) kept.delete(kept.keys().next().value!);
    return { ...checked };
  };
}
