import type Redis from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { connectRedis, type RedisTarget } from "../infra/redis";
import type { Logger } from "../logger";

/** The part of the caller's identity a limit is keyed by (the GraphQL context's `principal`). */
export interface RatePrincipal {
  sub: string;
  anonymous: boolean;
}

/**
 * The key a caller's operations are counted under: its subject when it is authenticated, else its
 * IP (anonymous callers behind one address share a budget).
 */
export function rateKey(principal: RatePrincipal | undefined, ip: string): string {
  return principal && !principal.anonymous && principal.sub ? `sub:${principal.sub}` : `ip:${ip}`;
}

/**
 * The client's address: the socket's peer, or, behind `trustedHops` proxies that each append to
 * `X-Forwarded-For`, the address that many hops back (as express's `trust proxy` with a hop count).
 */
export function clientIp(peer: string | undefined, forwardedFor: string | string[] | undefined, trustedHops: number) {
  const chain = [peer ?? "unknown"];
  if (trustedHops > 0 && forwardedFor) {
    const list = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",");
    for (let i = list.length - 1; i >= 0; i--) chain.push(list[i].trim());
  }
  const ip = chain[Math.min(trustedHops, chain.length - 1)];
  // An IPv4 peer on a dual-stack socket reads "::ffff:1.2.3.4": one client, one key.
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

/** The outcome of counting one operation. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Counts operations per key over a fixed one-minute window. */
export interface OperationLimiter {
  /** Counts one operation under `key`; says whether it is within the limit. */
  consume(key: string): Promise<RateDecision>;
  close(): void;
}

export interface OperationLimiterOptions {
  /** Operations per key per minute; 0 allows everything (and connects to nothing). */
  perMinute: number;
  /** Redis shared by every instance; without it the count is this process's alone. */
  redis?: RedisTarget;
  logger: Logger;
  /** Redis key prefix (tests set their own to start from zero). @default "workflow-graph:rate" */
  keyPrefix?: string;
}

const ALLOWED: RateDecision = { allowed: true };

/**
 * Creates the per-principal operation limiter: `RateLimiterRedis` on its own ioredis connection
 * (the API's Redis settings, commands not queued while disconnected), so every instance draws from
 * one budget. While Redis is unreachable each instance counts in memory instead (the library's
 * insurance limiter), so an outage neither blocks every caller nor lifts the limit.
 */
export function createOperationLimiter(options: OperationLimiterOptions): OperationLimiter {
  if (options.perMinute <= 0) return { consume: async () => ALLOWED, close: () => undefined };
  const shape = { points: options.perMinute, duration: 60, keyPrefix: options.keyPrefix ?? "workflow-graph:rate" };
  let client: Redis | undefined;
  let limiter: RateLimiterAbstract;
  if (options.redis) {
    client = connectRedis(options.redis, { enableOfflineQueue: false, connectionName: "workflow-graph:rate" });
    client.on("error", (error: Error) => options.logger.debug("rate limiter redis error", { error }));
    limiter = new RateLimiterRedis({
      ...shape,
      storeClient: client,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(shape),
    });
  } else {
    limiter = new RateLimiterMemory(shape);
  }
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
        return ALLOWED;
      } catch (outcome) {
        if (outcome instanceof RateLimiterRes) {
          return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(outcome.msBeforeNext / 1000)) };
        }
        // Neither Redis nor the insurance limiter answered: let the operation through.
        options.logger.warn("rate limiter unavailable; operation not counted", { error: outcome as Error });
        return ALLOWED;
      }
    },
    close() {
      client?.disconnect();
    },
  };
}

/** Counts open connections per key on this instance. */
export interface ConnectionCounter {
  /** Takes a slot for `key`; false when its `max` slots are taken (nothing is taken then). */
  acquire(key: string): boolean;
  release(key: string): void;
}

/** A {@link ConnectionCounter} allowing `max` connections per key; 0 allows any number. */
export function createConnectionCounter(max: number): ConnectionCounter {
  const open = new Map<string, number>();
  return {
    acquire(key) {
      const count = open.get(key) ?? 0;
      if (max > 0 && count >= max) return false;
      open.set(key, count + 1);
      return true;
    },
    release(key) {
      const count = (open.get(key) ?? 1) - 1;
      if (count > 0) open.set(key, count);
      else open.delete(key);
    },
  };
}
