import { loadConfig } from "../config";
import { runRetention, type WorkflowOutcome } from "../domain/retention/retention-job";
import type { Store } from "../domain/store";
import { migrate } from "../infra/migrations";
import { createDriver, neo4jTarget } from "../infra/neo4j";
import { startLocalServices } from "../local-services/start-services";
import { createLogger } from "../logger";
import { createRetentionLock } from "../server/retention-scheduler";

const USAGE = "usage: npm run retention [-- --dry-run] [-- --limit <workflows>] [-- --batch-size <records>]";

/** Exit code when another instance holds the lock: nothing was done, try again later (EX_TEMPFAIL). */
const EXIT_LOCKED = 75;

interface Options {
  dryRun: boolean;
  limit: number | undefined;
  batchSize: number | undefined;
}

function parseArgs(args: readonly string[]): Options {
  const options: Options = { dryRun: false, limit: undefined, batchSize: undefined };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--dry-run") options.dryRun = true;
    else if (arg === "--limit" || arg === "--batch-size") {
      const value = args[++i];
      if (!value || !/^[1-9]\d{0,8}$/.test(value)) throw new Error(`${arg} needs a whole number above 0\n${USAGE}`);
      options[arg === "--limit" ? "limit" : "batchSize"] = Number(value);
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return options;
}

const describe = (w: WorkflowOutcome) =>
  `${w.workflowId} (${w.reason}): ${w.nodes} nodes, ${w.events} events, ${w.branches} branches, ${w.grants} grants`;

/**
 * `npm run retention`: one run of the retention job against NEO4J_URI (or the local Neo4j), under
 * the same Redis lock as the API's timer. `--dry-run` prints what would go and deletes nothing.
 * Prints one line per workflow and a JSON summary; exits 0 when done, 75 when another instance
 * holds the lock, 1 on failure.
 */
async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const base = loadConfig();
  const logger = createLogger(base.logLevel);
  const local = await startLocalServices(base, logger);
  const config = local.config;
  const target = neo4jTarget(config);
  const driver = createDriver(target);
  const store: Store = {
    driver,
    database: target.database,
    maxContentBytes: config.maxContentBytes,
    maxBatchSize: config.maxBatchSize,
    maxIdBytes: config.maxIdBytes,
    maxNameBytes: config.maxNameBytes,
    maxMetadataBytes: config.maxMetadataBytes,
    maxMetadataDepth: config.maxMetadataDepth,
  };
  const retentionLock = createRetentionLock(config);
  const stop = new AbortController();
  // Ctrl-C stops between two batches; what is left goes on the next run.
  process.once("SIGINT", () => stop.abort());
  process.once("SIGTERM", () => stop.abort());
  try {
    await migrate(driver, target.database, logger);
    const report = await runRetention(store, {
      policy: config.retention,
      dryRun: options.dryRun,
      limit: options.limit,
      batchSize: options.batchSize,
      lock: retentionLock.lock,
      signal: stop.signal,
      onWorkflow: (w) => {
        process.stdout.write(
          `${options.dryRun ? "would purge" : w.complete ? "purged" : "stopped in"} ${describe(w)}\n`,
        );
      },
    });
    if (report.status === "skipped") {
      process.stderr.write("retention: another instance holds the lock; nothing done\n");
      return EXIT_LOCKED;
    }
    const audit = report.auditEntries;
    process.stdout.write(
      `${options.dryRun ? "would delete" : "deleted"} ${audit.deleted} audit entries older than ${audit.before}\n`,
    );
    process.stdout.write(
      JSON.stringify({
        status: report.status,
        dryRun: report.dryRun,
        durationMs: Math.round(report.durationMs),
        totals: report.totals,
      }) + "\n",
    );
    return report.status === "done" ? 0 : 1;
  } finally {
    await retentionLock.close();
    await driver.close();
    await local.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`retention failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
