import { ADMIN_SCOPE } from "../src/auth/access-scope";
import { ANONYMOUS_SUB } from "../src/auth/principal";
/**
 * Prints the PROFILE plans of the hot queries on a real workflow (2,000 nodes in a chain), to show
 * which indexes they use: the history page (the `history` query's keyset read),
 * the root path (WorkflowNode.pathToRoot) and appendNode's lock-and-read.
 *   npm run explain   (against NEO4J_URI, or the local Neo4j)
 */
import { randomUUID } from "node:crypto";
import neo4j, { type Driver } from "neo4j-driver";
import { loadConfig } from "../src/config";
import { appendNodes } from "../src/domain/append-nodes";
import { startWorkflow } from "../src/domain/start-workflow";
import type { Store } from "../src/domain/store";
import { DEFAULT_INPUT_LIMITS } from "../src/domain/validation";
import { migrate } from "../src/infra/migrations";
import { createDriver, neo4jTarget } from "../src/infra/neo4j";
import { startLocalServices } from "../src/local-services/start-services";
import { createLogger } from "../src/logger";

interface PlanNode {
  operatorType: string;
  arguments: Record<string, unknown>;
  dbHits?: number;
  rows?: number;
  children: PlanNode[];
}

function render(plan: PlanNode, depth = 0): string[] {
  const details = String(plan.arguments.Details ?? "");
  const line = `${"  ".repeat(depth)}${plan.operatorType.replace(/@neo4j$/, "")}${details ? `  ${details}` : ""}  (rows ${plan.rows ?? "?"}, db hits ${plan.dbHits ?? "?"})`;
  return [line, ...plan.children.flatMap((c) => render(c, depth + 1))];
}

async function profile(driver: Driver, database: string, title: string, cypher: string, params: object) {
  const result = await driver.executeQuery(`PROFILE ${cypher}`, params, { database });
  const plan = result.summary.profile as unknown as PlanNode;
  console.log(`\n## ${title}\n`);
  console.log(render(plan).join("\n"));
}

async function main() {
  const base = loadConfig({ ...process.env, LOG_LEVEL: "warn" });
  const logger = createLogger("warn");
  const local = await startLocalServices({ ...base, redisUrl: base.redisUrl ?? "redis://unused" }, logger);
  const target = neo4jTarget(local.config);
  const driver = createDriver(target);
  try {
    await migrate(driver, target.database, logger);
    const store: Store = { driver, database: target.database, ...DEFAULT_INPUT_LIMITS, maxBatchSize: 10000 };
    const { workflowId, root } = await startWorkflow(
      store,
      { name: "explain", systemPrompt: "root" },
      ADMIN_SCOPE,
      ANONYMOUS_SUB,
    );
    const ids = Array.from({ length: 2000 }, () => randomUUID());
    await appendNodes(
      store,
      ids.map((id, i) => ({
        id,
        workflowId,
        parentId: i ? ids[i - 1] : root.id,
        type: "MESSAGE" as const,
        content: `n${i}`,
      })),
      ADMIN_SCOPE,
    );
    await profile(
      driver,
      target.database,
      "History page (history, first 100, deep in)",
      `MATCH (n:WorkflowNode {workflowId: $wf}) WHERE n.seq > $after
       WITH n ORDER BY n.seq ASC LIMIT $limit
       RETURN n.id, n.seq`,
      { wf: workflowId, after: neo4j.int(1500), limit: neo4j.int(101) },
    );
    await profile(
      driver,
      target.database,
      "Root path (WorkflowNode.pathToRoot at depth 2,000)",
      `MATCH (this:WorkflowNode) WHERE this.id = $id
       CALL (this) { MATCH (root:WorkflowNode {workflowId: this.workflowId, seq: 0})
         MATCH path = shortestPath((root)-[:PARENT_OF*0..]->(this)) UNWIND nodes(path) AS step RETURN step }
       RETURN collect(step.id) AS path`,
      { id: ids[1999] },
    );
    await profile(
      driver,
      target.database,
      "appendNode's parent lookup (and idempotency check)",
      `UNWIND $ids AS id MATCH (n:WorkflowNode {id: id}) RETURN n.id, n.workflowId, n.depth`,
      { ids: [ids[10], randomUUID()] },
    );
  } finally {
    await driver.close();
    await local.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
