import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import Redis from "ioredis";
import neo4j, { type Driver } from "neo4j-driver";
import { ANONYMOUS_SUB } from "../src/auth/principal";
import { buildApp } from "../src/app";
import { loadConfig } from "../src/config";
import { appendNodes, type AppendNodeInput } from "../src/domain/append-nodes";
import { systemCaller } from "../src/domain/audit";
import {
  FIND_DELETED,
  FIND_EXPIRED_DEFAULT,
  FIND_EXPIRED_OWN,
  NEXT_RETENTION_DAYS,
  runRetention,
  type RetentionPolicy,
} from "../src/domain/retention/retention-job";
import { startWorkflow } from "../src/domain/start-workflow";
import type { Store } from "../src/domain/store";
import { createRedisLock } from "../src/infra/redis-lock";
import { createLogger } from "../src/logger";
import { createRetentionLock, RETENTION_LOCK_KEY } from "../src/server/retention-scheduler";
import { leftOf, NOTHING_LEFT } from "./support/archive";
import {
  disposeAll,
  eventually,
  gqlOk,
  onDispose,
  startApp,
  testConfig,
  testDriver,
  testStore,
} from "./support/harness";

/**
 * The retention job against the real services: what it purges and what it keeps, dry runs, audit
 * retention, one run at a time through the Redis lock (and a dead holder's lock expiring), a purge
 * killed half-way by kill -9 completing on the next run while nothing of it shows, and the API's
 * timer. The workflows are made here and aged by setting their dates with Cypher.
 */

afterAll(disposeAll);

const REPO_ROOT = path.resolve(__dirname, "..");
const POLICY: RetentionPolicy = { retentionDays: undefined, deletedRetentionDays: 30, auditRetentionDays: 400 };

let store: Store;
let raw: Driver;
let redis: Redis;
beforeAll(() => {
  const config = testConfig();
  store = testStore({ maxBatchSize: 10000 });
  raw = testDriver();
  redis = new Redis(config.redisUrl!);
  onDispose(() => void redis.disconnect());
});

/** A workflow of a root and `size` nodes in a chain, started by `system` (so it has an audit entry). */
async function workflow(size: number): Promise<string> {
  const started = await startWorkflow(
    store,
    { name: "retention", systemPrompt: "keep me or not" },
    systemCaller("startWorkflow", {}),
    ANONYMOUS_SUB,
  );
  let parent = started.root.id;
  for (let done = 0; done < size; done += 5000) {
    const inputs: AppendNodeInput[] = [];
    for (let k = 0; k < Math.min(5000, size - done); k++) {
      const id = randomUUID();
      const parentId = k === 0 ? parent : inputs[k - 1].id!;
      inputs.push({ id, workflowId: started.workflowId, parentId, type: "MESSAGE", content: `n${done + k}` });
    }
    await appendNodes(store, inputs, systemCaller("appendNodes", {}));
    parent = inputs.at(-1)!.id!;
  }
  return started.workflowId;
}

/** Ages a workflow: created `createdDaysAgo` days ago, with its own retention, soft-deleted `deletedDaysAgo` days ago. */
async function age(
  workflowId: string,
  dates: { createdDaysAgo?: number; retentionDays?: number; deletedDaysAgo?: number },
): Promise<void> {
  await raw.executeQuery(
    `MATCH (w:Workflow {id: $id})
     SET w.createdAt = datetime() - duration({days: coalesce($created, 0)}),
         w.retentionDays = $retention
     WITH w WHERE $deleted IS NOT NULL
     SET w:HiddenWorkflow, w.deletedAt = datetime() - duration({days: $deleted})`,
    {
      id: workflowId,
      created: dates.createdDaysAgo ?? null,
      retention: dates.retentionDays ?? null,
      deleted: dates.deletedDaysAgo ?? null,
    },
  );
}

/** A workflow of `size` nodes past its own 7-day retention. */
async function expiredWorkflow(size = 3): Promise<string> {
  const id = await workflow(size);
  await age(id, { createdDaysAgo: 8, retentionDays: 7 });
  return id;
}

const testLock = (ttlMs = 5000) => createRedisLock(redis, `retention-test:${randomUUID()}`, { ttlMs });

describe("configuration", () => {
  it("keeps workflows forever, deleted ones 30 days, audit entries 400 days, unfinished imports 24 hours and runs hourly by default", () => {
    expect(loadConfig({}).retention).toEqual({
      retentionDays: undefined,
      deletedRetentionDays: 30,
      auditRetentionDays: 400,
      abandonedImportHours: 24,
      purgeStaleAfterSeconds: 120,
      intervalMs: 3600000,
      lockTtlMs: 60000,
    });
    expect(loadConfig({ RETENTION_DAYS: "90", RETENTION_INTERVAL_MS: "0" }).retention).toMatchObject({
      retentionDays: 90,
      intervalMs: 0,
    });
  });

  it.each([
    ["RETENTION_DAYS", "0"],
    ["DELETED_RETENTION_DAYS", "-1"],
    ["AUDIT_RETENTION_DAYS", "forever"],
    ["RETENTION_INTERVAL_MS", "1.5"],
    ["RETENTION_LOCK_TTL_MS", "10"],
    ["ABANDONED_IMPORT_HOURS", "0"],
    ["PURGE_STALE_AFTER_SECONDS", "0"],
  ])("rejects %s=%s naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

describe("what goes and what stays", () => {
  it("purges an expired and a long-deleted workflow, keeps a fresh one, one without retention and a recently deleted one; a dry run only lists", async () => {
    const expired = await expiredWorkflow(5);
    const deleted = await workflow(4);
    await age(deleted, { createdDaysAgo: 40, deletedDaysAgo: 31 });
    const fresh = await workflow(2);
    await age(fresh, { createdDaysAgo: 1, retentionDays: 7 });
    const forever = await workflow(2);
    await age(forever, { createdDaysAgo: 1000 });
    const recentlyDeleted = await workflow(2);
    await age(recentlyDeleted, { createdDaysAgo: 40, deletedDaysAgo: 29 });
    const kept = [fresh, forever, recentlyDeleted];
    const before = await Promise.all([expired, deleted, ...kept].map((id) => leftOf(raw, id)));

    const dry = await runRetention(store, { policy: POLICY, dryRun: true });
    expect(dry.status).toBe("done");
    const listed = (id: string) => dry.workflows.find((w) => w.workflowId === id);
    expect(listed(expired)).toMatchObject({ reason: "expired", nodes: 6, branches: 1, grants: 1, complete: false });
    expect(listed(deleted)).toMatchObject({ reason: "deleted", nodes: 5, branches: 1, grants: 1 });
    for (const id of kept) expect(listed(id)).toBeUndefined();
    // Nothing was deleted.
    expect(await Promise.all([expired, deleted, ...kept].map((id) => leftOf(raw, id)))).toEqual(before);

    const run = await runRetention(store, { policy: POLICY });
    expect(run.status).toBe("done");
    const purged = (id: string) => run.workflows.find((w) => w.workflowId === id);
    expect(purged(expired)).toMatchObject({ reason: "expired", nodes: 6, complete: true });
    expect(purged(deleted)).toMatchObject({ reason: "deleted", nodes: 5, complete: true });
    expect(await leftOf(raw, expired)).toEqual(NOTHING_LEFT);
    expect(await leftOf(raw, deleted)).toEqual(NOTHING_LEFT);
    for (const [i, id] of kept.entries()) expect(await leftOf(raw, id)).toEqual(before[2 + i]);

    // The purged workflow's audit entries stay, and the purge added one by `system`.
    const audit = await raw.executeQuery(
      "MATCH (a:AuditEntry {workflowId: $id}) RETURN a.operation AS operation, a.principal AS principal ORDER BY a.at",
      { id: expired },
    );
    expect(audit.records.map((r) => [r.get("operation"), r.get("principal")])).toEqual([
      ["startWorkflow", "system"],
      ["appendNodes", "system"],
      ["purgeWorkflow", "system"],
    ]);

    // A default retention (RETENTION_DAYS) reaches the workflow that has none of its own.
    const withDefault = await runRetention(store, { policy: { ...POLICY, retentionDays: 999 } });
    expect(withDefault.workflows.find((w) => w.workflowId === forever)).toMatchObject({ reason: "expired" });
    expect(await leftOf(raw, forever)).toEqual(NOTHING_LEFT);
    expect(await leftOf(raw, fresh)).toEqual(before[2]);
    // Clean up: the two left are soft-deleted long ago.
    await Promise.all([fresh, recentlyDeleted].map((id) => age(id, { createdDaysAgo: 100, deletedDaysAgo: 100 })));
    await runRetention(store, { policy: POLICY });
  }, 240000);

  it("purges an import that crashed (importing longer than ABANDONED_IMPORT_HOURS) and leaves one still running", async () => {
    // What a crashed import leaves: the hidden workflow it created first, and the batches it wrote.
    const unfinished = async (startedHoursAgo: number | null) => {
      const id = randomUUID();
      await raw.executeQuery(
        `CREATE (w:Workflow:HiddenWorkflow {id: $id, name: 'importing', lastSeq: 2, createdAt: datetime(),
                  importing: true})
         SET w.importStartedAt = CASE WHEN $hours IS NULL THEN null ELSE datetime() - duration({hours: $hours}) END
         WITH w
         UNWIND range(0, 2) AS seq
         CREATE (:WorkflowNode {id: randomUUID(), workflowId: $id, seq: seq, type: 'MESSAGE', content: 'n'})`,
        { id, hours: startedHoursAgo },
      );
      return id;
    };
    const crashed = await unfinished(25);
    const legacy = await unfinished(null); // begun by a version that recorded no start time
    const running = await unfinished(1);

    const dry = await runRetention(store, { policy: POLICY, dryRun: true });
    const reasonOf = (report: typeof dry, id: string) => report.workflows.find((w) => w.workflowId === id)?.reason;
    expect(reasonOf(dry, crashed)).toBe("abandoned-import");
    expect(reasonOf(dry, legacy)).toBe("abandoned-import");
    expect(reasonOf(dry, running)).toBeUndefined();

    const run = await runRetention(store, { policy: POLICY });
    expect(run.workflows.find((w) => w.workflowId === crashed)).toMatchObject({ reason: "abandoned-import", nodes: 3 });
    expect(await leftOf(raw, crashed)).toEqual(NOTHING_LEFT);
    expect(await leftOf(raw, legacy)).toEqual(NOTHING_LEFT);
    expect((await leftOf(raw, running)).nodes).toBe(3);

    // A shorter window reaches the running one too.
    await runRetention(store, { policy: { ...POLICY, abandonedImportHours: 0.5 } });
    expect(await leftOf(raw, running)).toEqual(NOTHING_LEFT);
  });

  it("leaves a workflow that stopped being due between the list and its purge", async () => {
    const first = await expiredWorkflow(2);
    const second = await expiredWorkflow(2);
    await age(first, { createdDaysAgo: 9, retentionDays: 7 }); // listed first (oldest first)
    const report = await runRetention(store, {
      policy: POLICY,
      // While the first is purged, the second's owner keeps it longer.
      onWorkflow: async (outcome) => {
        if (outcome.workflowId !== first) return;
        await raw.executeQuery("MATCH (w:Workflow {id: $id}) SET w.retentionDays = 1000", { id: second });
      },
    });
    expect(report.workflows.find((w) => w.workflowId === first)).toMatchObject({ reason: "expired", complete: true });
    expect(report.workflows.find((w) => w.workflowId === second)).toBeUndefined();
    expect(await leftOf(raw, first)).toEqual(NOTHING_LEFT);
    expect((await leftOf(raw, second)).nodes).toBe(3);
    await age(second, { createdDaysAgo: 100, deletedDaysAgo: 100 });
  });

  it("finds each kind through an index, reading no workflow that does not qualify", async () => {
    // Enough workflows that a scan of them would show in the rows read.
    const ids = await Promise.all(Array.from({ length: 5 }, () => workflow(0)));
    for (const id of ids) await age(id, { createdDaysAgo: 3, retentionDays: 30, deletedDaysAgo: 2 });
    const longAgo = "1971-01-01T00:00:00Z";
    const session = raw.session();
    onDispose(() => session.close());
    for (const [statement, params] of [
      [FIND_DELETED, { before: longAgo, limit: neo4j.int(1000) }],
      [FIND_EXPIRED_DEFAULT, { before: longAgo, limit: neo4j.int(1000) }],
      [FIND_EXPIRED_OWN, { days: 30, before: longAgo, limit: neo4j.int(1000) }],
      [NEXT_RETENTION_DAYS, { after: 1e9 }],
    ] as const) {
      const { summary } = await session.run(`PROFILE ${statement}`, params);
      const operators: { operatorType: string; rows: number; arguments: Record<string, unknown> }[] = [];
      const walk = (plan: typeof summary.profile) => {
        if (!plan) return;
        operators.push({ operatorType: plan.operatorType, rows: plan.rows, arguments: plan.arguments });
        plan.children.forEach(walk);
      };
      walk(summary.profile);
      const types = operators.map((o) => o.operatorType);
      // The plan is in the message when this fails.
      expect(types.join(" <- ")).toMatch(/NodeIndexSeek/);
      expect(types.filter((t) => /AllNodesScan|NodeByLabelScan/.test(t))).toEqual([]);
      // The seek read nothing: no workflow qualifies, though many exist.
      const seek = operators.find((o) => /NodeIndexSeek/.test(o.operatorType))!;
      expect(seek.rows).toBe(0);
    }
    for (const id of ids) await age(id, { createdDaysAgo: 100, deletedDaysAgo: 100 });
    await runRetention(store, { policy: POLICY });
    for (const id of ids) expect(await leftOf(raw, id)).toEqual(NOTHING_LEFT);
  }, 120000);
});

describe("audit retention", () => {
  it("deletes audit entries older than the window in batches and keeps the rest, recording the deletion", async () => {
    const principal = `retention-test-${randomUUID()}`;
    await raw.executeQuery(
      `UNWIND $ages AS days
       CREATE (:AuditEntry {id: randomUUID(), at: datetime() - duration({days: days}), principal: $principal,
                            roles: [], operation: 'test', targetIds: [], outcome: 'OK'})`,
      { ages: [401, 402, 500, 399, 10], principal },
    );
    const left = async () =>
      (
        await raw.executeQuery(
          "MATCH (a:AuditEntry {principal: $principal}) RETURN collect(duration.inDays(a.at, datetime()).days) AS days",
          { principal },
        )
      ).records[0].get("days") as number[];

    const dry = await runRetention(store, { policy: POLICY, dryRun: true });
    expect(dry.auditEntries.deleted).toBeGreaterThanOrEqual(3);
    expect((await left()).sort()).toEqual([10, 399, 401, 402, 500].sort());

    const run = await runRetention(store, { policy: POLICY, auditBatchSize: 2 });
    expect(run.auditEntries.deleted).toBeGreaterThanOrEqual(3);
    expect((await left()).sort()).toEqual([10, 399].sort());
    const recorded = await raw.executeQuery(
      `MATCH (a:AuditEntry {principal: 'system', operation: 'purgeAuditEntries'})
       WHERE a.at >= datetime($since) RETURN count(a) AS c`,
      { since: run.startedAt },
    );
    expect(recorded.records[0].get("c")).toBe(1);
  }, 120000);
});

describe("one run at a time", () => {
  it("a second run while the first holds the lock skips and touches nothing; the lock is free afterwards", async () => {
    const big = await expiredWorkflow(3000);
    const lock = testLock();
    const first = runRetention(store, { policy: POLICY, lock, batchSize: 50 });
    // Once the first run is purging, it holds the lock.
    await eventually(async () => (await leftOf(raw, big)).nodes < 3001, 30000);
    const second = await runRetention(store, { policy: POLICY, lock });
    expect(second).toMatchObject({ status: "skipped", workflows: [] });
    const done = await first;
    expect(done.status).toBe("done");
    expect(done.workflows.find((w) => w.workflowId === big)).toMatchObject({ nodes: 3001, complete: true });
    expect(await leftOf(raw, big)).toEqual(NOTHING_LEFT);
    const again = await lock.acquire();
    expect(again).not.toBeNull();
    await again!.release();
  }, 120000);

  it("a run that loses its lock stops between two batches, and the next run completes the purge", async () => {
    const big = await expiredWorkflow(3000);
    const key = `retention-test:${randomUUID()}`;
    const lock = createRedisLock(redis, key, { ttlMs: 3000, renewEveryMs: 100 });
    const run = runRetention(store, { policy: POLICY, lock, batchSize: 50 });
    await eventually(async () => (await leftOf(raw, big)).nodes < 3001, 30000);
    // Another holder took the key (as after an expiry): the next renewal finds it gone.
    await redis.set(key, "another holder");
    const stopped = await run;
    expect(stopped.status).toBe("stopped");
    expect(stopped.workflows.find((w) => w.workflowId === big)).toMatchObject({ complete: false });
    const left = await leftOf(raw, big);
    expect(left.workflow).toBe(1);
    expect(left.nodes).toBeGreaterThan(0);
    // It did not release the other holder's key.
    expect(await redis.get(key)).toBe("another holder");
    await redis.del(key);
    // Its last batch is fresh: to the next run it looks like a purge running elsewhere, left alone.
    const stale = { ...POLICY, purgeStaleAfterSeconds: 3 };
    const early = await runRetention(store, { policy: stale, lock });
    expect(early.workflows.find((w) => w.workflowId === big)).toBeUndefined();
    expect((await leftOf(raw, big)).nodes).toBe(left.nodes);
    // Once the mark is older than purgeStaleAfterSeconds, it is taken for interrupted and resumed.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const next = await runRetention(store, { policy: stale, lock });
    expect(next.workflows.find((w) => w.workflowId === big)).toMatchObject({ reason: "resume", complete: true });
    expect(await leftOf(raw, big)).toEqual(NOTHING_LEFT);
  }, 120000);

  it("a holder that died without releasing blocks the job only until its lock expires", async () => {
    const key = `retention-test:${randomUUID()}`;
    await redis.set(key, "a holder that died", "PX", 1500);
    const lock = createRedisLock(redis, key, { ttlMs: 5000 });
    expect((await runRetention(store, { policy: POLICY, lock, dryRun: true })).status).toBe("skipped");
    await eventually(async () => (await redis.exists(key)) === 0, 5000);
    expect((await runRetention(store, { policy: POLICY, lock, dryRun: true })).status).toBe("done");
  });

  it("a live holder keeps its lock past the expiry by renewing it, and releases only its own", async () => {
    const key = `retention-test:${randomUUID()}`;
    const holder = await createRedisLock(redis, key, { ttlMs: 300 }).acquire();
    expect(holder).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1000)); // three expiries
    expect(await createRedisLock(redis, key, { ttlMs: 300 }).acquire()).toBeNull();
    await holder!.release();
    expect(await redis.exists(key)).toBe(0);

    // A holder that stalled (no renewal) past its expiry: the next one takes over, and the stalled
    // one's release leaves the new holder's key alone.
    const stalled = await createRedisLock(redis, key, { ttlMs: 200, renewEveryMs: 3600000 }).acquire();
    await eventually(async () => (await redis.exists(key)) === 0, 5000);
    const next = await createRedisLock(redis, key, { ttlMs: 5000 }).acquire();
    expect(next).not.toBeNull();
    await stalled!.release();
    expect(await redis.exists(key)).toBe(1);
    await next!.release();
    expect(await redis.exists(key)).toBe(0);
  });
});

describe("npm run retention", () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "src/cli/retention.ts", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: "warn" },
      encoding: "utf8",
      timeout: 120000,
    });

  it("exits 75 while another instance holds the lock; --dry-run prints what would go and deletes nothing", async () => {
    const expired = await expiredWorkflow(3);
    const before = await leftOf(raw, expired);
    const token = `test-holder-${randomUUID()}`;
    expect(await redis.set(RETENTION_LOCK_KEY, token, "PX", 60000, "NX")).toBe("OK");
    let locked;
    try {
      locked = cli("--dry-run");
    } finally {
      // Only our own token (compare-and-delete), in case it expired and a real run took it.
      await redis.eval(
        `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end`,
        1,
        RETENTION_LOCK_KEY,
        token,
      );
    }
    expect(locked.status).toBe(75);
    expect(locked.stderr).toContain("another instance holds the lock");

    const dry = cli("--dry-run");
    expect(dry.stderr).toBe("");
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain(`would purge ${expired} (expired): 4 nodes, 0 events, 1 branches, 1 grants`);
    expect(await leftOf(raw, expired)).toEqual(before);

    expect(cli("--limit", "x").status).toBe(1);
    await runRetention(store, { policy: POLICY });
    expect(await leftOf(raw, expired)).toEqual(NOTHING_LEFT);
  }, 300000);
});

describe("a purge killed half-way", () => {
  it("completes on the next run, and nothing of the workflow is visible in between", async () => {
    const api = await startApp();
    const big = await expiredWorkflow(20000);
    const cli = spawn(process.execPath, ["--import", "tsx", "src/cli/retention.ts", "--batch-size", "50"], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: "warn", RETENTION_LOCK_TTL_MS: "8000" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    cli.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    cli.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => cli.once("exit", (code) => resolve(code)));
    onDispose(() => void cli.kill("SIGKILL"));
    // Mid-purge: some nodes gone, most still there.
    await eventually(async () => {
      const left = await leftOf(raw, big);
      if (left.workflow === 0) throw new Error(`the CLI finished before it was killed:\n${output}`);
      return left.nodes < 19000;
    }, 120000);
    cli.kill("SIGKILL");
    expect(await exited).toBeNull();
    // The dead CLI's lock holds the job off until it expires.
    const config = testConfig();
    const retentionLock = createRetentionLock({ ...config, retention: { ...config.retention, lockTtlMs: 5000 } });
    onDispose(() => retentionLock.close());
    expect(await redis.pttl(RETENTION_LOCK_KEY)).toBeGreaterThan(0);
    expect((await runRetention(store, { policy: POLICY, lock: retentionLock.lock })).status).toBe("skipped");

    const left = await leftOf(raw, big);
    expect(left.workflow).toBe(1);
    expect(left.nodes).toBeGreaterThan(0);
    // Hidden from every reader, admins included (auth is off: the caller is an admin).
    const seen = await gqlOk(
      api.url,
      `query ($id: ID!) {
        workflows(where: { id: { eq: $id } }) { id }
        workflowNodes(where: { workflowId: { eq: $id } }, limit: 1) { id }
        branches(where: { workflowId: { eq: $id } }) { id }
      }`,
      { id: big },
    );
    expect(seen).toEqual({ workflows: [], workflowNodes: [], branches: [] });

    // Once the lock has expired, the next run resumes the purge.
    await eventually(async () => (await redis.exists(RETENTION_LOCK_KEY)) === 0, 20000);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const next = await runRetention(store, {
      policy: { ...POLICY, purgeStaleAfterSeconds: 3 },
      lock: retentionLock.lock,
    });
    expect(next.status).toBe("done");
    expect(next.workflows.find((w) => w.workflowId === big)).toMatchObject({ reason: "resume", complete: true });
    expect(await leftOf(raw, big)).toEqual(NOTHING_LEFT);
    // The purge was recorded once, when it started.
    const audit = await raw.executeQuery(
      "MATCH (a:AuditEntry {workflowId: $id, operation: 'purgeWorkflow'}) RETURN count(a) AS c",
      { id: big },
    );
    expect(audit.records[0].get("c")).toBe(1);
  }, 300000);
});

describe("the API's timer", () => {
  it("runs the job every interval in a started app, logs each run, and stops with app.stop", async () => {
    const first = await expiredWorkflow();
    const lines: string[] = [];
    const config = testConfig();
    const app = await buildApp(
      { ...config, logLevel: "info", retention: { ...config.retention, intervalMs: 200, lockTtlMs: 5000 } },
      { logger: createLogger("info", (line) => void lines.push(line)) },
    );
    onDispose(() => app.stop());
    expect(app.lastRetentionReport()).toBeNull();
    await app.start(0);
    await eventually(async () => (await leftOf(raw, first)).workflow === 0, 30000);
    await eventually(() => app.lastRetentionReport()?.status === "done", 10000);
    const runs = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === "retention run");
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.find((r) => (r.workflows as { id: string }[]).some((w) => w.id === first))).toMatchObject({
      level: "info",
      status: "done",
    });

    await app.stop();
    const last = app.lastRetentionReport();
    const after = await expiredWorkflow();
    // Five intervals without a run: the timer is gone.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(app.lastRetentionReport()).toBe(last);
    expect((await leftOf(raw, after)).workflow).toBe(1);
    expect(await redis.exists(RETENTION_LOCK_KEY)).toBe(0);
    await runRetention(store, { policy: POLICY });
    expect(await leftOf(raw, after)).toEqual(NOTHING_LEFT);
  }, 120000);
});
