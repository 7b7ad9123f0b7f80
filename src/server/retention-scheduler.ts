import { hasRedis, type Config } from "../config";
import { runRetention, type RetentionReport } from "../domain/retention/retention-job";
import type { Store } from "../domain/store";
import { connectRedis } from "../infra/redis";
import { createLocalLock, createRedisLock, type DistributedLock } from "../infra/redis-lock";
import type { Logger } from "../logger";

/** The Redis key every instance and `npm run retention` lock on (one key, so one master under Cluster). */
export const RETENTION_LOCK_KEY = "workflow-graph:retention:lock";

/** The retention job's lock and what closes it. */
export interface RetentionLock {
  lock: DistributedLock;
  close(): Promise<void>;
}

/**
 * The lock of the retention job: on Redis (its own connection) when the config names one, shared
 * by every instance and the CLI; otherwise within this process (a single instance).
 */
export function createRetentionLock(config: Config): RetentionLock {
  if (!hasRedis(config)) return { lock: createLocalLock(), close: async () => undefined };
  const redis = connectRedis(config, { connectionName: "workflow-graph:retention" });
  // Errors surface through the commands (a failed run is logged); the event would crash the process.
  redis.on("error", () => undefined);
  return {
    lock: createRedisLock(redis, RETENTION_LOCK_KEY, { ttlMs: config.retention.lockTtlMs }),
    async close() {
      await redis.quit().catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** The retention job on a timer in one API instance. */
export interface RetentionScheduler {
  /** Schedules the first run one interval from now (nothing when the interval is 0). */
  start(): void;
  /** Cancels the timer, stops a run in progress between two batches and waits for it, releases the lock. */
  stop(): Promise<void>;
  /** The report of the last run that finished (skipped ones included), for /metrics; null before any. */
  lastReport(): RetentionReport | null;
}

/**
 * Runs {@link runRetention} every `config.retention.intervalMs` (a run starts one interval after
 * the previous one ended, so runs never overlap in one instance, and the lock keeps instances
 * apart). Each run is logged as one structured line; a failed run is logged and the timer goes on.
 */
export function createRetentionScheduler(
  store: Store,
  config: Config,
  logger: Logger,
  /** Told of each run's outcome (for /metrics); `report` is absent when the run failed. */
  onRun?: (outcome: { ok: boolean; report?: RetentionReport }) => void,
): RetentionScheduler {
  const intervalMs = config.retention.intervalMs;
  let retentionLock: RetentionLock | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let last: RetentionReport | null = null;
  let stopped = false;
  const abort = new AbortController();

  const run = async () => {
    retentionLock ??= createRetentionLock(config);
    try {
      const report = await runRetention(store, {
        policy: config.retention,
        lock: retentionLock.lock,
        signal: abort.signal,
      });
      last = report;
      onRun?.({ ok: true, report });
      logger.info("retention run", {
        status: report.status,
        durationMs: Math.round(report.durationMs),
        totals: report.totals,
        workflows: report.workflows.map((w) => ({ id: w.workflowId, reason: w.reason, nodes: w.nodes })),
      });
    } catch (error) {
      logger.error("retention run failed", { error: error as Error });
      onRun?.({ ok: false });
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
    // The timer alone does not keep the process alive.
    timer.unref();
  };

  return {
    start() {
      if (intervalMs > 0 && !stopped && !timer) schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      abort.abort();
      await running;
      await retentionLock?.close();
    },
    lastReport: () => last,
  };
}
