import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Driver } from "neo4j-driver";
import { REPO_ROOT } from "../config";
import type { Logger } from "../logger";

/** A versioned Cypher migration read from `migrations/NNNN_name.cypher`. */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS_DIR = path.join(REPO_ROOT, "migrations");

/** Reads the migration files in version order; each file holds statements separated by `;`. */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[\w-]+\.cypher$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.cypher$/, ""),
      statements: readFileSync(path.join(dir, file), "utf8")
        .split("\n")
        .filter((line) => !line.trim().startsWith("//"))
        .join("\n")
        .split(";")
        .map((s) => s.trim())
        .filter(Boolean),
    }));
}

/**
 * Applies the migrations not yet recorded in the database, in order, and records each as a
 * `(:Migration {version, name, appliedAt})` node. Schema statements cannot share a transaction
 * with writes in Neo4j, so each statement runs on its own; they are all `IF NOT EXISTS`, which
 * makes a migration that was interrupted half-way safe to run again.
 * @returns the names of the migrations applied by this call.
 */
export async function migrate(
  driver: Driver,
  database: string,
  logger: Logger,
  migrations: Migration[] = readMigrations(),
): Promise<string[]> {
  await runSchemaStatement(
    driver,
    database,
    "CREATE CONSTRAINT migration_version IF NOT EXISTS FOR (m:Migration) REQUIRE m.version IS UNIQUE",
  );
  const { records } = await driver.executeQuery("MATCH (m:Migration) RETURN m.version AS version", {}, { database });
  const applied = new Set(records.map((r) => Number(r.get("version"))));
  const done: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) {
      await runSchemaStatement(driver, database, statement);
    }
    await driver.executeQuery(
      "MERGE (m:Migration {version: $version}) ON CREATE SET m.name = $name, m.appliedAt = datetime()",
      { version: migration.version, name: migration.name },
      { database },
    );
    await driver.executeQuery("CALL db.awaitIndexes(300)", {}, { database });
    logger.info("migration applied", { migration: migration.name });
    done.push(migration.name);
  }
  return done;
}

/** Error codes Neo4j gives when another instance created the same index or constraint first. */
const ALREADY_EXISTS = new Set([
  "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
  "Neo.ClientError.Schema.IndexAlreadyExists",
  "Neo.ClientError.Schema.ConstraintAlreadyExists",
]);

/**
 * Runs one schema statement. Several instances may start (and migrate) at once: `IF NOT EXISTS`
 * does not make concurrent creations of one index safe, so "already exists" counts as done.
 */
async function runSchemaStatement(driver: Driver, database: string, statement: string): Promise<void> {
  try {
    await driver.executeQuery(statement, {}, { database });
  } catch (error) {
    if (!ALREADY_EXISTS.has((error as { code?: string }).code ?? "")) throw error;
  }
}
