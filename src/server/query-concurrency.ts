import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestContext } from "@apollo/server";
import { GraphQLError } from "graphql";
import { rateLimited } from "../errors";
import { rateKey, type RatePrincipal } from "./rate-limit";

/**
 * How much query work one caller may have running at once on this instance.
 *
 * The cost limit bounds one query; it does not bound a caller who sends many of them at once. A
 * caller's queries in flight may add up to `budget` estimated cost units (QUERY_MAX_COMPLEXITY by
 * default): many cheap queries run side by side, but of the most expensive ones a caller runs one
 * at a time, whatever number it sends. The others wait in line, first come first served; past
 * `maxQueued` waiting, a query is refused (RATE_LIMITED) instead of queued. A query costing more
 * than the budget (possible only when the budget is set below the cost limit) runs when the caller
 * has nothing else in flight.
 *
 * The count is per instance: CPU and database connections are local resources, and a caller
 * spreading its queries over several instances gets each one's budget.
 */
export interface CostGate {
  /**
   * Waits until `cost` fits in `key`'s budget, then takes it.
   * @returns the release to call when the query is done, or `undefined` when the line is full.
   */
  acquire(key: string, cost: number): Promise<(() => void) | undefined>;
  /** Cost in flight and queries waiting, for `key` (for tests and metrics). */
  state(key: string): { inFlight: number; waiting: number };
}

export interface CostGateOptions {
  /** Estimated cost a caller may have in flight at once; 0 turns the gate off. */
  budget: number;
  /** Queries a caller may have waiting; past that a query is refused. */
  maxQueued: number;
}

interface Caller {
  inFlight: number;
  /** Queries in flight (so that one query over the budget can run alone). */
  running: number;
  waiting: { cost: number; admit: (release: () => void) => void }[];
}

export function createCostGate(options: CostGateOptions): CostGate {
  const callers = new Map<string, Caller>();
  const fits = (caller: Caller, cost: number) => caller.running === 0 || caller.inFlight + cost <= options.budget;
  /** Counts `cost` in and returns its release (which admits whoever waits and now fits). */
  const grant = (key: string, caller: Caller, cost: number): (() => void) => {
    caller.inFlight += cost;
    caller.running += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      caller.inFlight -= cost;
      caller.running -= 1;
      // Admit in order while the first in line fits: a large query at the head is not overtaken
      // by smaller ones behind it, so it cannot starve.
      while (caller.waiting.length && fits(caller, caller.waiting[0].cost)) {
        const next = caller.waiting.shift()!;
        next.admit(grant(key, caller, next.cost));
      }
      if (caller.running === 0 && caller.waiting.length === 0) callers.delete(key);
    };
  };
  return {
    async acquire(key, cost) {
      if (options.budget <= 0) return () => undefined;
      let caller = callers.get(key);
      if (!caller) {
        caller = { inFlight: 0, running: 0, waiting: [] };
        callers.set(key, caller);
      }
      if (caller.waiting.length === 0 && fits(caller, cost)) return grant(key, caller, cost);
      if (caller.waiting.length >= options.maxQueued) return undefined;
      const line = caller.waiting;
      return new Promise<() => void>((admit) => line.push({ cost, admit }));
    },
    state(key) {
      const caller = callers.get(key);
      return { inFlight: caller?.inFlight ?? 0, waiting: caller?.waiting.length ?? 0 };
    },
  };
}

/** Who a query's cost is counted against: its subject when authenticated, else its address. */
export interface CostCaller {
  principal: RatePrincipal;
  request: { clientAddress: string | null };
}

/** The key a caller's queries in flight are counted under (the rate limit's key). */
export const costKey = (caller: CostCaller) => rateKey(caller.principal, caller.request.clientAddress ?? "unknown");

/** The refusal when a caller's line of waiting queries is full. */
export const tooManyInFlight = (maxQueued: number) =>
  rateLimited(
    `Too many queries in flight: ${maxQueued} are already waiting for this caller's earlier ones to finish (QUERY_QUEUE_PER_CALLER)`,
    1,
  );

/**
 * Apollo Server: each query waits for room in its caller's budget before it runs and gives it back
 * when its response is sent (refusals are HTTP 429). Mutations and subscriptions are not gated:
 * writes have their own rate limit and lock order, and a subscription's cost is paid per event.
 * Put it after the cost check, which supplies `costOf`.
 */
export function queryConcurrencyPlugin<TContext extends CostCaller>(
  gate: CostGate,
  maxQueued: number,
  costOf: (requestContext: GraphQLRequestContext<TContext>) => number | undefined,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      let release: (() => void) | undefined;
      let sent = false;
      return {
        async didResolveOperation(requestContext) {
          if (requestContext.operation?.operation !== "query") return;
          // No cost: the cost check refused the operation, which will not run.
          const cost = costOf(requestContext);
          if (cost === undefined) return;
          const granted = await gate.acquire(costKey(requestContext.contextValue), cost);
          // Apollo runs every plugin's hook at once and answers as soon as one throws (a rate
          // limit, say): the response may be gone while this one waited. Give the room back.
          if (sent) return granted?.();
          release = granted;
          if (release) return;
          const error = tooManyInFlight(maxQueued);
          throw new GraphQLError(error.message, {
            extensions: { ...error.extensions, http: { status: 429, headers: new HeaderMap([["retry-after", "1"]]) } },
          });
        },
        async willSendResponse() {
          sent = true;
          release?.();
        },
      };
    },
  };
}
