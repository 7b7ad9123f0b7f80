/**
 * The benchmark suite (issue #5): each scenario measures the API and the raw baseline (hand-written
 * Cypher through neo4j-driver, raw Redis pub/sub) in the same run, alternating, against the same
 * Neo4j and Redis as the tests. Prints a table; writes bench/results/latest.json.
 *   npm run bench [-- --quick] [-- --only=1,3] [-- --profile]
 * --profile samples the API's CPU during each scenario (bench/results/api-*.cpuprofile, open in
 * Chrome DevTools) and logs the busiest packages; it slows the API, so its figures are not the
 * benchmark's. BENCH_API_NODE_OPTIONS is passed to the API processes as NODE_OPTIONS.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig } from "../src/config";
import { DEFAULT_INPUT_LIMITS } from "../src/domain/validation";
import { startLocalServices } from "../src/local-services/start-services";
import { createLogger } from "../src/logger";
import { spawnApi, type ApiProcess } from "../test/support/api-process";
import { startCpuProfile, summarizeProfile } from "./lib/cpu-profile";
import { machine, rawDriver, versions } from "./lib/environment";
import { removeScratch, type Fixtures } from "./lib/fixtures";
import { graphqlClient } from "./lib/graphql-client";
import { renderTable, type BenchContext, type Scenario, type ScenarioResult } from "./lib/report";
import { archive } from "./scenarios/archive";
import { branchSummary } from "./scenarios/branch-summary";
import { growth } from "./scenarios/growth";
import { history } from "./scenarios/history";
import { historyDeep } from "./scenarios/history-deep";
import { ingestBatch } from "./scenarios/ingest-batch";
import { ingestSingle } from "./scenarios/ingest-single";
import { pathToRoot } from "./scenarios/path-to-root";
import { propagation } from "./scenarios/propagation";
import { viewerRender } from "./scenarios/viewer-render";
import { propagationUsers } from "./scenarios/propagation-users";
import { propagationSse } from "./scenarios/propagation-sse";
import { wideTrees } from "./scenarios/wide-trees";
import { worstQueries } from "./scenarios/worst-queries";
import { purge } from "./scenarios/purge";
import { propagationCluster } from "./scenarios/propagation-cluster";
import { search } from "./scenarios/search";
import { analytics } from "./scenarios/analytics";
import { propagationInstances } from "./scenarios/propagation-instances";
import { mixedLoad } from "./scenarios/mixed-load";

const SCENARIOS: Scenario[] = [
  ingestSingle,
  ingestBatch,
  pathToRoot,
  history,
  branchSummary,
  wideTrees,
  propagation,
  growth,
  propagationUsers,
  historyDeep,
  worstQueries,
  viewerRender,
  propagationSse,
  archive,
  purge,
  propagationCluster,
  search,
  analytics,
  propagationInstances,
  mixedLoad,
];

function parseArgs(argv: string[]) {
  const quick = argv.includes("--quick");
  const profiling = argv.includes("--profile");
  const only = argv.find((a) => a.startsWith("--only="));
  const ids = only ? new Set(only.slice("--only=".length).split(",").map(Number)) : undefined;
  if (argv.includes("--help")) {
    console.log("usage: npm run bench [-- --quick] [-- --only=1,2,…] [-- --profile]");
    process.exit(0);
  }
  return { quick, ids, profiling };
}

async function main() {
  const { quick, ids, profiling } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const log = (message: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);
  const logger = createLogger("warn");
  const base = loadConfig({ ...process.env, LOG_LEVEL: "warn" });
  const local = await startLocalServices(base, logger);
  const neo4jUri = local.config.neo4j.uri!;
  const redisUrl = local.config.redisUrl!;
  const database = local.config.neo4j.database;
  const driver = rawDriver(neo4jUri, local.config.neo4j.user, local.config.neo4j.password);
  const apis: ApiProcess[] = [];
  const startApi = async (env: Record<string, string> = {}) => {
    const nodeOptions = process.env.BENCH_API_NODE_OPTIONS;
    const api = await spawnApi({
      env: { ...env, NEO4J_URI: neo4jUri, REDIS_URL: redisUrl, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
      inspect: profiling,
    });
    apis.push(api);
    return api;
  };
  const fx: Fixtures = {
    store: { driver, database, ...DEFAULT_INPUT_LIMITS, maxBatchSize: 10000 },
    driver,
    database,
    scratch: [],
    log,
  };
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const api of apis) {
        if (!(await api.stop().catch(() => false)))
          log(`API process ${api.pid} did not exit within 5 s of SIGTERM; killed`);
      }
      log("API stopped; removing this run's workflows…");
      await removeScratch(fx).catch((error) => log(`cleanup failed: ${error}`));
      await driver.close();
      await local.stop();
      log("cleaned up");
    })());
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));

  try {
    log(`workflow-graph benchmarks${quick ? " (quick)" : ""}: Neo4j ${neo4jUri}, Redis ${redisUrl}`);
    const api = await startApi();
    log(`API process ${api.pid} at ${api.url}`);
    const ctx: BenchContext = {
      quick,
      api,
      gql: graphqlClient(api.url),
      spawnApi: startApi,
      async profile(target, label) {
        if (!profiling || !target.inspectorUrl) return async () => undefined;
        const stop = await startCpuProfile(target.inspectorUrl);
        return async () => {
          const profile = await stop();
          const file = path.join(__dirname, "results", `api-${label}.cpuprofile`);
          writeFileSync(file, JSON.stringify(profile));
          log(
            `  CPU profile of API process ${target.pid} → ${path.relative(process.cwd(), file)}\n${summarizeProfile(profile)}`,
          );
        };
      },
      profiling,
      driver,
      database,
      neo4jUri,
      redisUrl,
      fx,
      log,
      previous: [],
    };
    const results: ScenarioResult[] = ctx.previous;
    for (const scenario of SCENARIOS.filter((s) => !ids || ids.has(s.id))) {
      log(`${scenario.id}. ${scenario.name}`);
      const t0 = performance.now();
      const base = { id: scenario.id, name: scenario.name };
      try {
        const stopProfile = await ctx.profile(api, `s${scenario.id}`);
        const outcome = await scenario.run(ctx);
        await stopProfile();
        results.push({ ...base, ...outcome, seconds: (performance.now() - t0) / 1000 });
      } catch (error) {
        log(`  failed: ${error instanceof Error ? error.stack : String(error)}`);
        const apiLog = apis.map((a) => a.output().slice(-3000)).join("\n");
        if (apiLog.trim()) log(`  API stderr (tail):\n${apiLog}`);
        results.push({
          ...base,
          status: "failed",
          seconds: (performance.now() - t0) / 1000,
          rows: [],
          targets: [],
          notes: [],
          error: error instanceof Error ? error.message : String(error),
        });
      }
      log(`  done in ${results[results.length - 1].seconds.toFixed(1)} s`);
    }
    const targets = results.flatMap((r) => r.targets);
    const seconds = (performance.now() - started) / 1000;
    console.log(`\nworkflow-graph benchmarks${quick ? " (--quick: reduced sizes and rounds)" : ""}\n`);
    console.log(renderTable(results, targets));
    for (const r of results.filter((r) => r.notes.length)) {
      console.log(`\n${r.id}. ${r.name}:\n${r.notes.map((n) => `   - ${n}`).join("\n")}`);
    }
    const report = {
      date: new Date().toISOString(),
      quick,
      profiled: profiling,
      seconds: Math.round(seconds),
      machine: machine(),
      versions: await versions(driver, database, redisUrl),
      method:
        "Each scenario alternates ours and raw in rounds (order flipped every round, after one warm-up round); " +
        "figures are medians across rounds of each round's p50/p99/throughput. Ratio = ours / raw.",
      scenarios: results,
      targets,
    };
    const file = path.join(__dirname, "results", "latest.json");
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
    const met = targets.filter((t) => t.met).length;
    console.log(
      `\n${met}/${targets.length} targets met; ${Math.round(seconds)} s; wrote ${path.relative(process.cwd(), file)}`,
    );
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
