import { randomUUID } from "node:crypto";
import type Redis from "ioredis";

/**
 * A lock that at most one holder has at a time, across processes (Redis) or within one (local):
 * the retention job takes it so that two API instances, or an instance and `npm run retention`,
 * never purge at once.
 */
export interface DistributedLock {
  /** The lock if it is free (held until released, or until its holder stops renewing it); null if held. */
  acquire(): Promise<HeldLock | null>;
}

/** A lock this process holds. */
export interface HeldLock {
  /** Aborted when the lock is lost (a renewal found another holder, or could not reach Redis in time). */
  readonly signal: AbortSignal;
  /** Gives it up, only if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

/** Options of {@link createRedisLock}. */
export interface RedisLockOptions {
  /** Expiry in ms: a holder that dies (kill -9) blocks others for at most this long. */
  ttlMs: number;
  /** How often the holder pushes the expiry back. @default ttlMs / 3 */
  renewEveryMs?: number;
}

/** Pushes the expiry back only if the key still holds our token. */
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the key only if it still holds our token (compare-and-delete). */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/**
 * A lock on one Redis key: `SET key token NX PX ttl` takes it, a Lua script renews it every
 * `renewEveryMs` while held and another releases it, each only if the key still holds this
 * holder's random token, so a holder whose lock expired can neither extend nor delete its
 * successor's. With Sentinel the key lives on the current master (a failover that loses the key
 * before it reached a replica could let a second holder in: acceptable for a job whose every step
 * is idempotent); with Cluster the one key lives on one master.
 */
export function createRedisLock(redis: Redis, key: string, options: RedisLockOptions): DistributedLock {
  const renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(options.ttlMs / 3));
  return {
    async acquire() {
      const token = randomUUID();
      const taken = await redis.set(key, token, "PX", options.ttlMs, "NX");
      if (taken !== "OK") return null;
      const lost = new AbortController();
      let released = false;
      const renew = async () => {
        try {
          const renewed = await redis.eval(RENEW, 1, key, token, String(options.ttlMs));
          if (Number(renewed) !== 1) lost.abort(new Error(`lock ${key} was taken over after it expired`));
        } catch (error) {
          // Unreachable Redis: keep trying until the expiry we last set has passed.
          if (Date.now() - lastRenewed >= options.ttlMs) lost.abort(error);
          return;
        }
        lastRenewed = Date.now();
      };
      let lastRenewed = Date.now();
      const timer = setInterval(() => {
        if (!released && !lost.signal.aborted) void renew();
      }, renewEveryMs);
      timer.unref();
      return {
        signal: lost.signal,
        async release() {
          if (released) return;
          released = true;
          clearInterval(timer);
          await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
        },
      };
    },
  };
}

/** A lock within this process only: for an API without Redis, which is a single instance. */
export function createLocalLock(): DistributedLock {
  let held = false;
  return {
    async acquire() {
      if (held) return null;
      held = true;
      let released = false;
      return {
        signal: new AbortController().signal,
        async release() {
          if (released) return;
          released = true;
          held = false;
        },
      };
    },
  };
}
