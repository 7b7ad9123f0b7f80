import {
  execute,
  getOperationAST,
  GraphQLError,
  type DocumentNode,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from "graphql";
import type { ErrorFormatter } from "../errors";
import { costKey, tooManyInFlight, type CostCaller, type CostGate } from "./query-concurrency";
import { chargeQuery, type QueryCostRate } from "./query-cost-rate";
import { runInRequest } from "../request-context";
import { inRequestScope } from "./request-id";
import { checkSubscribe, type QueryLimits } from "./query-limits";
import {
  createSharedSubscribe,
  type EventKeyOf,
  type EventScopeOf,
  type SharedSubscribeStats,
} from "./shared-subscribe";
import { createCheckedOperations } from "./checked-operations";
import { asUserInputError, rejectUndeclaredVariables } from "./variables";

export interface OperationPipelineOptions {
  schema: GraphQLSchema;
  /** The same formatter as HTTP's (createErrorFormatter), so every transport shows the same errors. */
  formatError: ErrorFormatter;
  /** Shape and cost limits, checked before anything runs. */
  queryLimits: QueryLimits;
  /** Names a subscription event, so that subscribers of the same operation share its result. */
  eventKey: EventKeyOf;
  /** Whether `__schema` and `__type` may be queried. @default true */
  introspection?: boolean;
  /** The per-caller budget of query cost in flight (see query-concurrency.ts); none when absent. */
  queryGate?: { gate: CostGate; maxQueued: number };
  /** The per-caller rate of query cost over time (see query-cost-rate.ts); none when absent. */
  queryCostRate?: QueryCostRate;
  /** Called with each subscription event as its result goes to the transport (delivery metrics). */
  onDelivered?: (event: unknown) => void;
  /**
   * The caller's class for one event, when less than its whole scope decides the result: callers
   * of one class share its execution (see createSharedSubscribe). @default none (the whole scope)
   */
  eventScope?: EventScopeOf;
}

/** An operation as a streaming transport receives it. */
export interface OperationPayload {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * What every streaming transport (graphql-ws on /graphql, graphql-sse on /graphql/stream) does
 * with one operation once its caller is known and admitted: parse, validate (the same rules as
 * HTTP) and check its shape and cost; run it (subscriptions through the shared subscription
 * execution, undeclared variables refused); format its errors as HTTP does. Authentication, the
 * role gate and rate limits come before it and are each transport's own wiring of the shared
 * pieces.
 */
export interface OperationPipeline {
  readonly schema: GraphQLSchema;
  /** The execution arguments (without context), or the errors to answer with. */
  check(payload: OperationPayload): Omit<ExecutionArgs, "contextValue"> | GraphQLError[];
  subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
  execute(args: ExecutionArgs): ExecutionResult | Promise<ExecutionResult>;
  /** Formats errors for the client: variable coercion errors as BAD_USER_INPUT, others masked or kept. */
  formatErrors(errors: readonly unknown[]): GraphQLFormattedError[];
  /** A result with its errors formatted (unchanged when it has none). */
  formatResult<R extends ExecutionResult>(result: R): R;
  /** How many subscription events were executed (shared results count once). */
  readonly subscriptionStats: SharedSubscribeStats;
}

export function createOperationPipeline(options: OperationPipelineOptions): OperationPipeline {
  const rules = options.introspection === false ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
  const shared = createSharedSubscribe(options.eventKey, options.onDelivered, options.eventScope);
  const subscribe = rejectUndeclaredVariables(shared);
  const run = rejectUndeclaredVariables(execute);
  // Each checked document is parsed anew, so its estimated cost can be found by the document.
  const costs = new WeakMap<DocumentNode, number>();
  const gated = async (args: ExecutionArgs): Promise<ExecutionResult> => {
    const gate = options.queryGate;
    const rate = options.queryCostRate;
    if ((!gate && !rate) || getOperationAST(args.document, args.operationName)?.operation !== "query") {
      return run(args) as ExecutionResult | Promise<ExecutionResult>;
    }
    const cost = costs.get(args.document) ?? 0;
    const refusal = rate && (await chargeQuery(rate, args.contextValue as CostCaller, cost));
    if (refusal) return { errors: [refusal] };
    if (!gate) return run(args) as ExecutionResult | Promise<ExecutionResult>;
    const release = await gate.gate.acquire(costKey(args.contextValue as CostCaller), cost);
    if (!release) return { errors: [tooManyInFlight(gate.maxQueued)] };
    try {
      return await (run(args) as ExecutionResult | Promise<ExecutionResult>);
    } finally {
      release();
    }
  };
  // Operations run in their request's scope (its id in logs, errors and published events); a
  // subscription's events are pulled later by the transport's loop, so its steps enter it too.
  const requestIdOf = (args: ExecutionArgs) =>
    (args.contextValue as { request?: { id?: unknown } } | undefined)?.request?.id as string | undefined;
  const formatErrors = (errors: readonly unknown[]) =>
    errors.map((raw) => {
      const e = raw instanceof GraphQLError ? asUserInputError(raw) : (raw as { toJSON?: () => GraphQLFormattedError });
      return options.formatError(typeof e.toJSON === "function" ? e.toJSON() : (e as GraphQLFormattedError), e);
    });
  // Subscribers who send the same subscription share its checked, parsed document.
  const check = createCheckedOperations((payload) =>
    checkSubscribe(options.schema, options.queryLimits, payload, rules, costs),
  );
  return {
    schema: options.schema,
    check,
    subscribe: async (args) => {
      const requestId = requestIdOf(args);
      if (requestId === undefined) return subscribe(args);
      const result = await runInRequest({ requestId }, () => subscribe(args));
      return Symbol.asyncIterator in result ? inRequestScope(requestId, result) : result;
    },
    execute: (args) => {
      const requestId = requestIdOf(args);
      return requestId === undefined ? gated(args) : runInRequest({ requestId }, () => gated(args));
    },
    formatErrors,
    subscriptionStats: shared.stats,
    formatResult: (result) =>
      result.errors ? { ...result, errors: formatErrors(result.errors) as unknown as GraphQLError[] } : result,
  };
}
