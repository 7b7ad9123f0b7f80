import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestContext } from "@apollo/server";
import { GraphQLError } from "graphql";
import type Redis from "ioredis";
import { rateLimited } from "../errors";
import { connectRedis, type RedisTarget } from "../infra/redis";
import type { Logger } from "../logger";
import { costKey, type CostCaller } from "./query-concurrency";
import type { RateDecision } from "./rate-limit";

/**
 * A caller's rate of estimated query cost over time: a token bucket per caller that holds at most
 * `burst` units and refills at `perMinute` units a minute. A query takes its estimated cost from
 * the bucket before it runs; when the bucket holds less, the query is refused (RATE_LIMITED) and
 * nothing is taken, so a refusal does not push the caller's next query further back.
 *
 * The budget of cost in flight (query-concurrency.ts) bounds what a caller runs at once; this
 * bounds what it runs over time, which is what another caller's latency depends on when the
 * database's CPU is the shared resource.
 */
export interface BucketShape {
  /** Units added a minute; 0 turns the rate off. */
  perMinute: number;
  /** Most units the bucket holds (a caller idle for a while may spend this much at once). */
  burst: number;
}

/** One caller's bucket: the units it held at `at` (ms since the epoch). */
export interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Takes `cost` from `bucket` (a new caller's bucket is full) at time `now`. Pure: the same
 * arithmetic as the Redis script below, which is what runs when Redis is there.
 * @returns the bucket afterwards (unchanged but refilled when refused) and the decision.
 */
export function takeFromBucket(
  bucket: Bucket | undefined,
  now: number,
  cost: number,
  shape: BucketShape,
): { bucket: Bucket; decision: RateDecision } {
  const perMs = shape.perMinute / 60000;
  // A cost over the burst could never be paid: it is charged as a full bucket.
  const charge = Math.min(cost, shape.burst);
  const held = bucket ?? { tokens: shape.burst, at: now };
  const tokens = Math.min(shape.burst, held.tokens + Math.max(0, now - held.at) * perMs);
  if (tokens >= charge) return { bucket: { tokens: tokens - charge, at: now }, decision: { allowed: true } };
  const retryAfterSeconds = Math.max(1, Math.ceil((charge - tokens) / perMs / 1000));
  return { bucket: { tokens, at: now }, decision: { allowed: false, retryAfterSeconds } };
}

/**
 * The same as {@link takeFromBucket}, in Redis, on Redis's clock (so instances with skewed clocks
 * share one bucket correctly). A refusal writes nothing. The key expires once the bucket would be
 * full again, so idle callers cost no memory.
 */
const TAKE_SCRIPT = `
local perMs = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local charge = math.min(tonumber(ARGV[3]), burst)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1])
local at = tonumber(held[2])
if tokens == nil or at == nil then tokens = burst; at = now end
if now > at then tokens = math.min(burst, tokens + (now - at) * perMs) end
if tokens < charge then return {0, tostring(tokens)} end
tokens = tokens - charge
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
return {1, tostring(tokens)}
`;

/** Takes estimated query cost from each caller's bucket. */
export interface QueryCostRate {
  /** Takes `cost` units from `key`'s bucket; says whether the query may run. */
  take(key: string, cost: number): Promise<RateDecision>;
  close(): void;
}

export interface QueryCostRateOptions extends BucketShape {
  /** Redis shared by every instance; without it each instance keeps its own buckets. */
  redis?: RedisTarget;
  logger: Logger;
  /** Redis key prefix (tests set their own to start from a full bucket). @default "workflow-graph:query-cost" */
  keyPrefix?: string;
  /** The clock of the in-memory buckets (tests). @default Date.now */
  now?: () => number;
}

const ALLOWED: RateDecision = { allowed: true };
/** In-memory buckets kept before full ones are swept out. */
const SWEEP_AT = 10000;

type WithTake = Redis & { takeQueryCost(key: string, perMs: number, burst: number, cost: number): Promise<unknown> };

/**
 * Creates the per-caller cost rate: buckets in Redis (one script call per query, on a connection
 * of its own that does not queue commands while disconnected), so every instance draws from one
 * budget. While Redis is unreachable each instance keeps buckets in memory instead, so an outage
 * neither blocks every query nor lifts the limit.
 */
export function createQueryCostRate(options: QueryCostRateOptions): QueryCostRate {
  if (options.perMinute <= 0) return { take: async () => ALLOWED, close: () => undefined };
  const shape: BucketShape = { perMinute: options.perMinute, burst: options.burst };
  const now = options.now ?? Date.now;
  const prefix = options.keyPrefix ?? "workflow-graph:query-cost";
  const local = new Map<string, Bucket>();
  const takeLocally = (key: string, cost: number): RateDecision => {
    if (local.size >= SWEEP_AT) {
      for (const [k, b] of local) if (takeFromBucket(b, now(), 0, shape).bucket.tokens >= shape.burst) local.delete(k);
    }
    const { bucket, decision } = takeFromBucket(local.get(key), now(), cost, shape);
    local.set(key, bucket);
    return decision;
  };
  let client: WithTake | undefined;
  if (options.redis) {
    const redis = connectRedis(options.redis, {
      enableOfflineQueue: false,
      connectionName: "workflow-graph:query-cost",
    });
    redis.on("error", (error: Error) => options.logger.debug("query cost rate redis error", { error }));
    redis.defineCommand("takeQueryCost", { numberOfKeys: 1, lua: TAKE_SCRIPT });
    client = redis as WithTake;
  }
  const perMs = shape.perMinute / 60000;
  return {
    async take(key, cost) {
      if (cost <= 0) return ALLOWED;
      if (!client) return takeLocally(key, cost);
      try {
        const [allowed, tokens] = (await client.takeQueryCost(`${prefix}:${key}`, perMs, shape.burst, cost)) as [
          number,
          string,
        ];
        if (allowed === 1) return ALLOWED;
        const missing = Math.min(cost, shape.burst) - Number(tokens);
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(missing / perMs / 1000)) };
      } catch (error) {
        options.logger.debug("query cost rate counted in memory (Redis unavailable)", { error: error as Error });
        return takeLocally(key, cost);
      }
    },
    close() {
      client?.disconnect();
    },
  };
}

/** The refusal of a query over its caller's cost rate. */
export const costRateExceeded = (retryAfterSeconds: number) =>
  rateLimited(
    `Too much query cost this minute (QUERY_COST_PER_MINUTE_PER_CALLER); retry in ${retryAfterSeconds} s`,
    retryAfterSeconds,
  );

/** Takes a caller's query cost from its bucket: the refusal to answer with, or undefined to run it. */
export async function chargeQuery(rate: QueryCostRate, caller: CostCaller, cost: number) {
  const decision = await rate.take(costKey(caller), cost);
  return decision.allowed ? undefined : costRateExceeded(decision.retryAfterSeconds);
}

/**
 * Apollo Server: each query pays its estimated cost from its caller's bucket before it runs;
 * over the rate it is refused with HTTP 429 and `Retry-After`. Mutations (their own rate limit)
 * and subscriptions (paid per event) are not charged. Put it after the cost check, which supplies
 * `costOf`, and before the budget of cost in flight, so a refused query never waits in line.
 */
export function queryCostRatePlugin<TContext extends CostCaller>(
  rate: QueryCostRate,
  costOf: (requestContext: GraphQLRequestContext<TContext>) => number | undefined,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          if (requestContext.operation?.operation !== "query") return;
          const cost = costOf(requestContext);
          if (cost === undefined) return;
          const refusal = await chargeQuery(rate, requestContext.contextValue, cost);
          if (!refusal) return;
          const retryAfter = String(refusal.extensions.retryAfterSeconds);
          throw new GraphQLError(refusal.message, {
            extensions: {
              ...refusal.extensions,
              http: { status: 429, headers: new HeaderMap([["retry-after", retryAfter]]) },
            },
          });
        },
      };
    },
  };
}
