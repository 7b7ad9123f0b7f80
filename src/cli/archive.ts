import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { once } from "node:events";
import { loadConfig } from "../config";
import { exportWorkflow } from "../domain/archive/export-workflow";
import { importWorkflow, linesOf, verifyArchive } from "../domain/archive/import-workflow";
import { purgeWorkflow } from "../domain/retention/purge";
import { systemCaller } from "../domain/audit";
import type { Store } from "../domain/store";
import { migrate } from "../infra/migrations";
import { createDriver, neo4jTarget } from "../infra/neo4j";
import { startLocalServices } from "../local-services/start-services";
import { createLogger } from "../logger";

const USAGE = `usage:
  npm run archive -- --workflow <id> --out <file> [--purge]
  npm run archive -- --import <file>`;

/** The command line: an export (optionally purging once the file is verified) or an import. */
type Command = { kind: "export"; workflowId: string; out: string; purge: boolean } | { kind: "import"; file: string };

function parseArgs(args: readonly string[]): Command {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  const known = new Set(["--workflow", "--out", "--purge", "--import"]);
  const unknown = args.filter((a) => a.startsWith("--") && !known.has(a));
  if (unknown.length) throw new Error(`unknown option ${unknown[0]}\n${USAGE}`);
  const file = value("--import");
  if (file !== undefined) {
    if (args.includes("--workflow") || args.includes("--out") || args.includes("--purge")) {
      throw new Error(`--import takes no other option\n${USAGE}`);
    }
    return { kind: "import", file };
  }
  const workflowId = value("--workflow");
  const out = value("--out");
  if (!workflowId || !out) throw new Error(USAGE);
  return { kind: "export", workflowId, out, purge: args.includes("--purge") };
}

/** Writes the archive to `<out>.partial`, then renames it: a file named `out` is always complete. */
async function exportToFile(store: Store, workflowId: string, out: string) {
  const partial = `${out}.partial`;
  const file = createWriteStream(partial);
  try {
    for await (const line of exportWorkflow(store, workflowId)) {
      if (!file.write(line)) await once(file, "drain");
    }
    file.end();
    await once(file, "close");
    await rename(partial, out);
  } catch (error) {
    file.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * `npm run archive`: exports a workflow to a file (and with `--purge`, deletes it once the file,
 * read back, verifies complete), or imports such a file. Talks to NEO4J_URI (or the local Neo4j)
 * through the domain, as an administrator would: no token is involved.
 */
async function main(): Promise<void> {
  const command = parseArgs(process.argv.slice(2));
  const base = loadConfig();
  const logger = createLogger(base.logLevel);
  const local = await startLocalServices({ ...base, redisUrl: base.redisUrl ?? "redis://unused" }, logger);
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
  try {
    await migrate(driver, target.database, logger);
    if (command.kind === "import") {
      const result = await importWorkflow(store, linesOf(createReadStream(command.file)), {
        scope: systemCaller("importWorkflow", { file: command.file }),
      });
      process.stdout.write(`imported workflow ${result.workflowId}: ${JSON.stringify(result.counts)}\n`);
      return;
    }
    await exportToFile(store, command.workflowId, command.out);
    const verified = await verifyArchive(linesOf(createReadStream(command.out)));
    if (verified.workflowId !== command.workflowId.trim().toLowerCase()) {
      throw new Error(`${command.out} holds workflow ${verified.workflowId}, not ${command.workflowId}`);
    }
    process.stdout.write(
      `exported workflow ${verified.workflowId} to ${command.out}: ${JSON.stringify(verified.counts)}\n`,
    );
    if (command.purge) {
      const purged = await purgeWorkflow(store, verified.workflowId, {
        caller: systemCaller("purgeWorkflow", { workflowId: verified.workflowId }),
      });
      process.stdout.write(`purged workflow ${verified.workflowId}: ${JSON.stringify(purged.deleted)}\n`);
    }
  } finally {
    await driver.close();
    await local.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`archive failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
