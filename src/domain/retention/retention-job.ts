import { performance } from "node:perf_hooks";
import neo4j from "neo4j-driver";
import { readTransaction, writeTransaction } from "../../infra/neo4j";
import type { DistributedLock, HeldLock } from "../../infra/redis-lock";
import { recordAudit, systemCaller } from "../audit";
import { HIDDEN_WORKFLOW } from "../hidden-workflow";
import type { Store } from "../store";
import { purgeWorkflow, type PurgeOptions } from "./purge";

/**
 * The retention job: finds the workflows whose time is up (soft-deleted longer than the window,
 * or past their retention) and purges each with {@link purgeWorkflow}, then deletes the audit
 * entries past theirs. The API runs it on a timer and `npm run retention` on demand, one at a
 * time through a {@link DistributedLock}.
 */

/** How long things are kept (config block `retention`). */
export interface RetentionPolicy {
  /** Days after `createdAt` for a workflow without `retentionDays` of its own; undefined: forever. */
  retentionDays: number | undefined;
  /** Days a soft-deleted workflow is kept after `deletedAt`. */
  deletedRetentionDays: number;
  /** Days an audit entry is kept after `at`. */
  auditRetentionDays: number;
  /**
   * Hours after which an import still in progress is taken for crashed and purged (its process
   * died between the first and the last transaction). @default 24
   */
  abandonedImportHours?: number;
  /**
   * Seconds after its last batch at which a purge still marked `purging` is taken for interrupted
   * and resumed; a fresher one is running elsewhere (another instance, an admin's purgeWorkflow, an
   * import's clean-up) and is left to it. @default 120
   */
  purgeStaleAfterSeconds?: number;
}

/**
 * Why a workflow goes: `resume`, a purge interrupted earlier (marked `purging`); `abandoned-import`,
 * an import that started longer ago than `abandonedImportHours` and never finished; `deleted`,
 * soft-deleted longer than the window; `expired`, past its retention.
 */
export type PurgeReason = "resume" | "abandoned-import" | "deleted" | "expired";

/** Default of {@link RetentionPolicy.abandonedImportHours}. */
export const ABANDONED_IMPORT_HOURS = 24;
/** Default of {@link RetentionPolicy.purgeStaleAfterSeconds}. */
export const PURGE_STALE_AFTER_SECONDS = 120;

/** A purge interrupted: marked `purging`, its last batch before `$staleBefore`. */
const INTERRUPTED = `w.purging = true
  AND coalesce(w.purgeTouchedAt, datetime("1970-01-01T00:00:00Z")) < datetime($staleBefore)`;

/** A workflow whose time is up. */
export interface ExpiredWorkflow {
  workflowId: string;
  reason: PurgeReason;
}

const DAY_MS = 24 * 3600 * 1000;
const before = (now: Date, days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
const hoursBefore = (now: Date, hours: number) => new Date(now.getTime() - hours * 3600 * 1000).toISOString();
const staleBefore = (now: Date, policy: RetentionPolicy) =>
  new Date(now.getTime() - (policy.purgeStaleAfterSeconds ?? PURGE_STALE_AFTER_SECONDS) * 1000).toISOString();

/** Workflows a purge was interrupted on: few, all carrying the hidden label, so its scan reads only them. */
export const FIND_RESUMING = `
MATCH (w:${HIDDEN_WORKFLOW})
WHERE ${INTERRUPTED}
RETURN w.id AS id ORDER BY id LIMIT $limit`;

/**
 * Imports started before `$before` and never finished. Hidden like the purges above, so the scan
 * reads only hidden workflows. One without a start time was begun by a version that recorded none.
 */
export const FIND_ABANDONED_IMPORTS = `
MATCH (w:${HIDDEN_WORKFLOW})
WHERE w.importing = true AND w.purging IS NULL
  AND coalesce(w.importStartedAt, datetime("1970-01-01T00:00:00Z")) < datetime($before)
RETURN w.id AS id ORDER BY id LIMIT $limit`;

/** An import in progress is hidden too, but not ours to touch (it cleans up after itself). */
const NOT_BUSY = `w.purging IS NULL AND w.importing IS NULL`;

/** Soft-deleted before `$before`: a seek on the `deletedAt` range index, oldest first. */
export const FIND_DELETED = `
MATCH (w:Workflow)
USING INDEX SEEK w:Workflow(deletedAt)
WHERE w.deletedAt < datetime($before) AND ${NOT_BUSY}
RETURN w.id AS id ORDER BY w.deletedAt LIMIT $limit`;

/**
 * The next distinct `retentionDays` above `$after`: one seek on the composite index each, so the
 * job reads as many index entries as there are distinct values, not one per workflow.
 */
export const NEXT_RETENTION_DAYS = `
MATCH (w:Workflow)
USING INDEX SEEK w:Workflow(retentionDays, createdAt)
WHERE w.retentionDays > $after AND w.createdAt IS NOT NULL
RETURN w.retentionDays AS days ORDER BY days LIMIT 1`;

/** Workflows with `retentionDays = $days` created before `$before`: equality and range on the composite index. */
export const FIND_EXPIRED_OWN = `
MATCH (w:Workflow)
USING INDEX SEEK w:Workflow(retentionDays, createdAt)
WHERE w.retentionDays = $days AND w.createdAt < datetime($before) AND ${NOT_BUSY}
RETURN w.id AS id ORDER BY w.createdAt LIMIT $limit`;

/**
 * Workflows without retention of their own created before the default cutoff: a seek on the
 * `createdAt` range index (only workflows older than the default retention are read).
 */
export const FIND_EXPIRED_DEFAULT = `
MATCH (w:Workflow)
USING INDEX SEEK w:Workflow(createdAt)
WHERE w.createdAt < datetime($before) AND w.retentionDays IS NULL AND ${NOT_BUSY}
RETURN w.id AS id ORDER BY w.createdAt LIMIT $limit`;

/** Guards the distinct-values walk against a runaway loop (retentionDays is a small integer). */
const MAX_DISTINCT_RETENTIONS = 10000;

/**
 * The workflows to purge at `now`, at most `limit`: first those a purge was interrupted on, then
 * those soft-deleted longer than `deletedRetentionDays` (oldest first), then those past their own
 * `retentionDays` or, without one, the policy's (unset: kept forever). Each list is read through
 * an index; an id appears once, under the first reason that applies.
 */
export async function findExpired(
  store: Store,
  now: Date,
  policy: RetentionPolicy,
  limit = 1000,
): Promise<ExpiredWorkflow[]> {
  return readTransaction(store.driver, store.database, async (tx) => {
    const found = new Map<string, PurgeReason>();
    const collect = async (reason: PurgeReason, statement: string, params: Record<string, unknown>) => {
      if (found.size >= limit) return;
      const result = await tx.run(statement, { ...params, limit: neo4j.int(limit - found.size) });
      for (const record of result.records) {
        const id = String(record.get("id"));
        if (!found.has(id)) found.set(id, reason);
      }
    };
    await collect("resume", FIND_RESUMING, { staleBefore: staleBefore(now, policy) });
    const importHours = policy.abandonedImportHours ?? ABANDONED_IMPORT_HOURS;
    await collect("abandoned-import", FIND_ABANDONED_IMPORTS, { before: hoursBefore(now, importHours) });
    await collect("deleted", FIND_DELETED, { before: before(now, policy.deletedRetentionDays) });
    let after: unknown = -1;
    for (let i = 0; i < MAX_DISTINCT_RETENTIONS && found.size < limit; i++) {
      const next = await tx.run(NEXT_RETENTION_DAYS, { after });
      if (next.records.length === 0) break;
      const days = next.records[0].get("days") as unknown;
      // A driver without disableLosslessIntegers returns Integer objects.
      const value = neo4j.isInt(days) ? days.toNumber() : days;
      if (typeof value === "number" && Number.isFinite(value)) {
        await collect("expired", FIND_EXPIRED_OWN, { days, before: before(now, value) });
      }
      after = days;
    }
    if (policy.retentionDays !== undefined) {
      await collect("expired", FIND_EXPIRED_DEFAULT, { before: before(now, policy.retentionDays) });
    }
    return [...found].slice(0, limit).map(([workflowId, reason]) => ({ workflowId, reason }));
  });
}

/** Options of {@link runRetention}. */
export interface RetentionOptions {
  policy: RetentionPolicy;
  /** Lists what would go (with its node counts) and deletes nothing. @default false */
  dryRun?: boolean;
  /** Most workflows purged in one run; the rest wait for the next. @default 1000 */
  limit?: number;
  /** The time the windows are measured from. @default new Date() */
  now?: Date;
  /**
   * Taken for the whole run; when another holder has it, the run is `skipped` and touches nothing.
   * @default none (the caller makes sure it runs alone)
   */
  lock?: DistributedLock;
  /** Records deleted per transaction by a workflow's purge. @default 2000 */
  batchSize?: number;
  /** Audit entries deleted per transaction. @default 5000 */
  auditBatchSize?: number;
  /** Stops between batches once aborted (a workflow half-purged resumes on the next run). */
  signal?: AbortSignal;
  /** Called after each workflow, for progress logs; the run waits for a promise it returns. */
  onWorkflow?: (outcome: WorkflowOutcome) => void | Promise<void>;
}

/** What the run did (or, dry, would do) to one workflow. */
export interface WorkflowOutcome extends ExpiredWorkflow {
  nodes: number;
  events: number;
  branches: number;
  grants: number;
  /** True once nothing of it is left (dry run: false). */
  complete: boolean;
  durationMs: number;
}

/** The report of one run. */
export interface RetentionReport {
  /**
   * `done`; `skipped` when another instance held the lock (nothing was touched); `stopped` when
   * the run was aborted or lost its lock part-way (what is left goes on the next run).
   */
  status: "done" | "skipped" | "stopped";
  dryRun: boolean;
  /** ISO-8601. */
  startedAt: string;
  durationMs: number;
  workflows: WorkflowOutcome[];
  auditEntries: { before: string; deleted: number; durationMs: number };
  totals: { workflows: number; nodes: number; events: number; branches: number; grants: number; auditEntries: number };
}

const COUNT_OWNED = `
RETURN
  COUNT { MATCH (n:WorkflowNode) WHERE n.workflowId = $id } AS nodes,
  COUNT { MATCH (e:WorkflowEvent) WHERE e.workflowId = $id AND e.seq IS NOT NULL } AS events,
  COUNT { MATCH (b:Branch) WHERE b.workflowId = $id } AS branches,
  COUNT { MATCH (g:WorkflowGrant) WHERE g.workflowId = $id AND g.principal IS NOT NULL } AS grants`;

/** Audit entries older than `$before`, through the `audit_entry_at` index. */
export const COUNT_OLD_AUDIT = `MATCH (a:AuditEntry) WHERE a.at < datetime($before) RETURN count(a) AS count`;
const DELETE_OLD_AUDIT = `
MATCH (a:AuditEntry) WHERE a.at < datetime($before)
WITH a LIMIT $limit
DELETE a
RETURN count(*) AS deleted`;

/**
 * One run of the retention job: takes the lock (or skips), purges each workflow
 * {@link findExpired} returns (a purge interrupted earlier first) in batches with an audit entry
 * by `system` (none for a resumed one: its entry was written when it was first marked), then
 * deletes the audit entries older than `auditRetentionDays` in batches, recording one entry for
 * the deletion. Dry, it only counts. Releases the lock however it ends.
 * @throws GraphQLError SERVICE_UNAVAILABLE when the database cannot be reached (the next run resumes).
 */
export async function runRetention(store: Store, options: RetentionOptions): Promise<RetentionReport> {
  const began = performance.now();
  const now = options.now ?? new Date();
  const dryRun = options.dryRun ?? false;
  const auditBefore = before(now, options.policy.auditRetentionDays);
  const report: RetentionReport = {
    status: "done",
    dryRun,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    workflows: [],
    auditEntries: { before: auditBefore, deleted: 0, durationMs: 0 },
    totals: { workflows: 0, nodes: 0, events: 0, branches: 0, grants: 0, auditEntries: 0 },
  };
  let held: HeldLock | null = null;
  if (options.lock) {
    held = await options.lock.acquire();
    if (!held) return { ...report, status: "skipped", durationMs: performance.now() - began };
  }
  const signals = [options.signal, held?.signal].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length ? AbortSignal.any(signals) : undefined;
  try {
    for (const expired of await findExpired(store, now, options.policy, options.limit ?? 1000)) {
      if (signal?.aborted) break;
      const outcome = dryRun ? await countOwned(store, expired) : await purge(store, expired, options, now, signal);
      if (!outcome) continue;
      report.workflows.push(outcome);
      await options.onWorkflow?.(outcome);
      if (!outcome.complete && !dryRun) break;
    }
    if (!signal?.aborted) {
      const started = performance.now();
      report.auditEntries.deleted = dryRun
        ? await countOldAudit(store, auditBefore)
        : await deleteOldAudit(store, auditBefore, options.auditBatchSize ?? 5000, signal);
      report.auditEntries.durationMs = performance.now() - started;
    }
    if (signal?.aborted) report.status = "stopped";
  } finally {
    await held?.release();
  }
  for (const w of report.workflows) {
    report.totals.workflows += dryRun || w.complete ? 1 : 0;
    report.totals.nodes += w.nodes;
    report.totals.events += w.events;
    report.totals.branches += w.branches;
    report.totals.grants += w.grants;
  }
  report.totals.auditEntries = report.auditEntries.deleted;
  report.durationMs = performance.now() - began;
  return report;
}

/**
 * Why the workflow was listed, as a condition checked again under its lock when the purge starts:
 * between the list and the purge it may have been restored, given a longer retention, finished
 * importing, or (its purge completed by someone else) re-created by an import.
 */
function stillDue(reason: PurgeReason, now: Date, policy: RetentionPolicy): PurgeOptions["guard"] {
  switch (reason) {
    case "resume":
      return { condition: INTERRUPTED, params: { staleBefore: staleBefore(now, policy) } };
    case "abandoned-import":
      return {
        condition: `w.importing = true AND w.purging IS NULL
          AND coalesce(w.importStartedAt, datetime("1970-01-01T00:00:00Z")) < datetime($dueBefore)`,
        params: { dueBefore: hoursBefore(now, policy.abandonedImportHours ?? ABANDONED_IMPORT_HOURS) },
      };
    case "deleted":
      return {
        condition: `w.deletedAt < datetime($dueBefore) AND ${NOT_BUSY}`,
        params: { dueBefore: before(now, policy.deletedRetentionDays) },
      };
    case "expired":
      return {
        condition: `${NOT_BUSY} AND coalesce(w.retentionDays, $dueDefaultDays) IS NOT NULL
          AND w.createdAt < datetime($dueNow) - duration({days: coalesce(w.retentionDays, $dueDefaultDays, 0)})`,
        params: { dueNow: now.toISOString(), dueDefaultDays: policy.retentionDays ?? null },
      };
  }
}

/** A purge of the workflow, or null when it was no longer due once locked. */
async function purge(
  store: Store,
  expired: ExpiredWorkflow,
  options: RetentionOptions,
  now: Date,
  signal: AbortSignal | undefined,
): Promise<WorkflowOutcome | null> {
  const started = performance.now();
  const result = await purgeWorkflow(store, expired.workflowId, {
    guard: stillDue(expired.reason, now, options.policy),
    caller:
      expired.reason === "resume"
        ? undefined
        : systemCaller("purgeWorkflow", { workflowId: expired.workflowId, reason: expired.reason }),
    batchSize: options.batchSize,
    signal,
  });
  if (!result.found) return null;
  return { ...expired, ...result.deleted, complete: result.complete, durationMs: performance.now() - started };
}

async function countOwned(store: Store, expired: ExpiredWorkflow): Promise<WorkflowOutcome> {
  const started = performance.now();
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(COUNT_OWNED, { id: expired.workflowId }),
  );
  const count = (key: string) => Number(result.records[0].get(key));
  return {
    ...expired,
    nodes: count("nodes"),
    events: count("events"),
    branches: count("branches"),
    grants: count("grants"),
    complete: false,
    durationMs: performance.now() - started,
  };
}

async function countOldAudit(store: Store, auditBefore: string): Promise<number> {
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(COUNT_OLD_AUDIT, { before: auditBefore }),
  );
  return Number(result.records[0].get("count"));
}

/** Deletes in batches; the first batch that deletes anything also records who did (`system`). */
async function deleteOldAudit(
  store: Store,
  auditBefore: string,
  batchSize: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const limit = neo4j.int(batchSize);
  let deleted = 0;
  while (!signal?.aborted) {
    const batch = await writeTransaction(store.driver, store.database, async (tx) => {
      const result = await tx.run(DELETE_OLD_AUDIT, { before: auditBefore, limit });
      const n = Number(result.records[0].get("deleted"));
      if (n > 0 && deleted === 0) {
        const caller = systemCaller("purgeAuditEntries", { before: auditBefore });
        await recordAudit(tx, caller, { workflowIds: [], targetIds: [] });
      }
      return n;
    });
    deleted += batch;
    if (batch < batchSize) break;
  }
  return deleted;
}
