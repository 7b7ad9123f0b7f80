import { ADMIN_SCOPE } from "../../src/auth/access-scope";
import { ANONYMOUS_SUB } from "../../src/auth/principal";
import { appendNodes, type AppendNodeInput } from "../../src/domain/append-nodes";
import { startWorkflow } from "../../src/domain/start-workflow";
import { stableId, type Fixtures } from "../lib/fixtures";
import { rawRead } from "../lib/raw";
import { row, target, type Row, type Scenario, type Target } from "../lib/report";
import { alternate, runConcurrent } from "../lib/runner";
import { acrossRounds } from "../lib/stats";

/**
 * The sizes, each overridable from the environment (a small run: BENCH_ANALYTICS_NODES=5000
 * BENCH_ANALYTICS_WORKFLOWS=50 BENCH_ANALYTICS_SERIES_NODES=10000).
 */
function sizes(quick: boolean) {
  const env = (name: string, full: number, small: number) => {
    const value = Number(process.env[name]);
    return Number.isInteger(value) && value > 0 ? value : quick ? small : full;
  };
  return {
    /** Nodes of the one workflow `Workflow.analytics` measures. */
    nodes: env("BENCH_ANALYTICS_NODES", 100_000, 5_000),
    /** Workflows, and nodes across them, that the series covers. */
    workflows: env("BENCH_ANALYTICS_WORKFLOWS", 1_000, 50),
    seriesNodes: env("BENCH_ANALYTICS_SERIES_NODES", 200_000, 10_000),
  };
}

/** Spread over this many days, so the DAY series has that many buckets with data. */
const DAYS = 30;
const MODELS = ["gpt-a", "gpt-b", "claude-c"];
const AGENTS = ["planner", "searcher", "writer", "critic"];
const TYPES = ["MESSAGE", "ACTION", "MESSAGE", "ACTION", "MESSAGE", "ERROR"] as const;
const BATCH = 2000;

/** The i-th node of a fixture: a type, an agent and (on most) usage. */
function fixtureInput(workflowId: string, parentId: string, i: number): AppendNodeInput {
  return {
    id: undefined,
    workflowId,
    parentId,
    type: TYPES[i % TYPES.length],
    content: `step ${i}`,
    agentId: AGENTS[i % AGENTS.length],
    metadata:
      i % 5 === 4
        ? null
        : {
            usage: {
              model: MODELS[i % MODELS.length],
              inputTokens: 100 + (i % 50),
              outputTokens: 10 + (i % 7),
              costUsd: 0.001 * (1 + (i % 3)),
              latencyMs: 200 + (i % 100),
            },
          },
  };
}

/** A chain of `count` fixture nodes under the root, kept between runs under a fixed id. */
async function ensureWorkflow(fx: Fixtures, name: string, count: number): Promise<string> {
  const workflowId = stableId(name);
  const found = await rawRead<number>(
    fx.driver,
    fx.database,
    "MATCH (w:Workflow {id: $workflowId}) RETURN w.nodeCount",
    {
      workflowId,
    },
  );
  if (found.length && Number(found[0]) >= count + 1) return workflowId;
  if (found.length) await removeWorkflow(fx, workflowId);
  const { root } = await startWorkflow(
    fx.store,
    { id: workflowId, name, systemPrompt: "bench" },
    ADMIN_SCOPE,
    ANONYMOUS_SUB,
  );
  let parent = root.id;
  for (let done = 0; done < count;) {
    const n = Math.min(BATCH, count - done);
    const inputs = Array.from({ length: n }, (_, k) => fixtureInput(workflowId, "", done + k));
    inputs.forEach((input, k) => {
      input.id = stableId(`${name}:${done + k}`);
      input.parentId = k === 0 ? parent : inputs[k - 1].id!;
    });
    await appendNodes(fx.store, inputs, ADMIN_SCOPE);
    parent = inputs[n - 1].id!;
    done += n;
  }
  return workflowId;
}

async function removeWorkflow(fx: Fixtures, workflowId: string) {
  await fx.driver.executeQuery(
    `MATCH (n:WorkflowNode {workflowId: $workflowId}) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS`,
    { workflowId },
    { database: fx.database },
  );
  await fx.driver.executeQuery(
    `MATCH (x) WHERE (x:Workflow AND x.id = $workflowId) OR ((x:Branch OR x:WorkflowEvent OR x:WorkflowGrant) AND x.workflowId = $workflowId)
     DETACH DELETE x`,
    { workflowId },
    { database: fx.database },
  );
}

/** Moves a workflow's times `days` days back (its nodes, events and creation), for the DAY series. */
async function shiftBack(fx: Fixtures, workflowId: string, days: number) {
  await fx.driver.executeQuery(
    `MATCH (w:Workflow {id: $workflowId}) WHERE NOT coalesce(w.benchShifted, false)
     SET w.createdAt = w.createdAt - duration({days: $days}), w.benchShifted = true
     WITH w
     MATCH (n:WorkflowNode {workflowId: w.id})
     SET n.timestamp = n.timestamp - duration({days: $days})`,
    { workflowId, days },
    { database: fx.database },
  );
}

const WORKFLOW_ANALYTICS = /* GraphQL */ `
  query Analytics($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      analytics {
        nodeCount
        byType {
          type
          count
        }
        byAgent {
          agentId
          usage {
            nodes
            calls
            inputTokens
            outputTokens
            costUsd
          }
        }
        byModel {
          model
          usage {
            nodes
            calls
            inputTokens
            outputTokens
            costUsd
          }
        }
        errors
        branchesByStatus {
          status
          count
        }
        firstEventAt
        lastEventAt
        durationMs
        eventGapsMs {
          count
          p50
          p95
        }
        decisions {
          total
          pending
          averageOptions
          timeToChoiceMs {
            p50
            p95
          }
        }
        criticalPath {
          endNodeId
          length
          durationMs
        }
      }
    }
  }
`;

/**
 * What a user would write by hand for the same numbers in one statement, over the same stored
 * usage properties: counts by type, agent and model with their usage, branch statuses, event
 * times and gaps, decisions, and the path to the newest node.
 */
const RAW_WORKFLOW = `
CALL () {
  MATCH (n:WorkflowNode {workflowId: $id})
  WITH n.type AS type, n.agentId AS agent, n.usageModel AS model, count(*) AS nodes,
       sum(n.inputTokens) AS input, sum(n.outputTokens) AS output, sum(n.costUsd) AS cost
  RETURN collect({type: type, agent: agent, model: model, nodes: nodes, input: input, output: output, cost: cost}) AS groups
}
CALL () {
  MATCH (b:Branch {workflowId: $id})
  RETURN collect(b.status) AS statuses
}
CALL () {
  CALL () {
    MATCH (n:WorkflowNode {workflowId: $id}) RETURN n.seq AS seq, n.timestamp.epochMillis AS at
    UNION ALL
    MATCH (e:WorkflowEvent {workflowId: $id}) RETURN e.seq AS seq, e.at.epochMillis AS at
  }
  WITH seq, at ORDER BY seq
  WITH collect(at) AS times
  UNWIND range(1, size(times) - 1) AS i
  WITH times, times[i] - times[i - 1] AS gap
  RETURN head(times) AS first, last(times) AS last, percentileCont(gap, 0.5) AS p50, percentileCont(gap, 0.95) AS p95
}
CALL () {
  MATCH (d:WorkflowNode {workflowId: $id, type: 'DECISION'})
  OPTIONAL MATCH (d)-[c:CHOSEN_OPTION]->()
  RETURN count(d) AS decisions, count(c) AS chosen
}
CALL () {
  MATCH (n:WorkflowNode {workflowId: $id})
  WITH n ORDER BY n.timestamp DESC, n.seq DESC LIMIT 1
  MATCH (root:WorkflowNode {workflowId: $id, seq: 0})
  MATCH path = shortestPath((root)-[:PARENT_OF*0..]->(n))
  RETURN length(path) AS pathLength
}
RETURN {groups: groups, statuses: statuses, first: first, last: last, p50: p50, p95: p95, decisions: decisions,
        chosen: chosen, pathLength: pathLength} AS answer`;

const SERIES = /* GraphQL */ `
  query Series($from: DateTime!, $to: DateTime!) {
    analytics(from: $from, to: $to, bucket: DAY) {
      buckets
      groups {
        workflowsStarted
        workflowsCompleted
        workflowsFailed
        nodes
        inputTokens
        outputTokens
        costUsd
      }
    }
  }
`;

/** The same series by hand: nodes and usage per day, and workflows started, completed, failed per day. */
const RAW_SERIES = `
CALL () {
  MATCH (n:WorkflowNode) WHERE n.timestamp >= datetime($from) AND n.timestamp < datetime($to)
  WITH datetime.truncate('day', n.timestamp) AS day, count(*) AS nodes, sum(n.inputTokens) AS input,
       sum(n.outputTokens) AS output, sum(n.costUsd) AS cost
  RETURN collect({day: day, nodes: nodes, input: input, output: output, cost: cost}) AS nodes
}
CALL () {
  CALL () {
    MATCH (w:Workflow) WHERE w.createdAt >= datetime($from) AND w.createdAt < datetime($to) RETURN w
    UNION
    MATCH (w:Workflow) WHERE w.endedAt >= datetime($from) AND w.endedAt < datetime($to) RETURN w
  }
  RETURN collect({started: datetime.truncate('day', w.createdAt),
    ended: CASE WHEN w.endedAt IS NULL THEN null ELSE datetime.truncate('day', w.endedAt) END,
    status: w.status}) AS workflows
}
RETURN {nodes: nodes, workflows: workflows} AS answer`;

/**
 * 16. Analytics: `Workflow.analytics` (every section but the critical path's ids) on one big
 * workflow, and the `analytics` series by DAY over many workflows, each vs the raw Cypher a user
 * would write for the same numbers, one request at a time.
 */
export const analytics: Scenario = {
  id: 16,
  name: "Analytics",
  async run(ctx) {
    const size = sizes(ctx.quick);
    const rounds = ctx.quick ? 3 : 5;
    const perRound = ctx.quick ? 5 : 10;
    const rows: Row[] = [];
    const targets: Target[] = [];

    ctx.log(`  analytics fixture: one workflow of ${size.nodes.toLocaleString("en")} nodes…`);
    const big = await ensureWorkflow(ctx.fx, `analytics:big:${size.nodes}`, size.nodes);
    const ours = await ctx.gql.request(WORKFLOW_ANALYTICS, { id: big });
    const analyticsOf = ours.workflows[0].analytics as { nodeCount: number };
    if (analyticsOf.nodeCount !== size.nodes + 1)
      throw new Error(`Workflow.analytics counted ${analyticsOf.nodeCount}`);
    const one = await alternate(
      rounds,
      (side, round) =>
        runConcurrent(round < 0 ? 2 : perRound, 1, () =>
          side === "ours"
            ? ctx.gql.request(WORKFLOW_ANALYTICS, { id: big })
            : rawRead(ctx.driver, ctx.database, RAW_WORKFLOW, { id: big }),
        ),
      { warmup: true },
    );
    const o = acrossRounds(one.ours);
    const r = acrossRounds(one.raw);
    const label = `Workflow.analytics, ${size.nodes.toLocaleString("en")}-node workflow`;
    rows.push(row(label, "p50", "ms", o.p50, r.p50), row(label, "p99", "ms", o.p99, r.p99));
    const ratio = o.p50 / r.p50;
    targets.push(
      target(
        `Workflow.analytics p50 vs raw (${size.nodes.toLocaleString("en")} nodes)`,
        "≤ 1.5× raw",
        ratio,
        "×",
        (v) => v <= 1.5,
      ),
    );

    const perWorkflow = Math.max(1, Math.floor(size.seriesNodes / size.workflows));
    ctx.log(
      `  analytics fixture: ${size.workflows.toLocaleString("en")} workflows of ${perWorkflow.toLocaleString("en")} nodes over ${DAYS} days…`,
    );
    for (let i = 0; i < size.workflows; i++) {
      const id = await ensureWorkflow(ctx.fx, `analytics:series:${size.workflows}:${perWorkflow}:${i}`, perWorkflow);
      await shiftBack(ctx.fx, id, i % DAYS);
    }
    const now = Date.now();
    const vars = {
      from: new Date(now - (DAYS + 1) * 86_400_000).toISOString(),
      to: new Date(now + 86_400_000).toISOString(),
    };
    const series = await alternate(
      rounds,
      (side, round) =>
        runConcurrent(round < 0 ? 2 : perRound, 1, () =>
          side === "ours" ? ctx.gql.request(SERIES, vars) : rawRead(ctx.driver, ctx.database, RAW_SERIES, vars),
        ),
      { warmup: true },
    );
    const so = acrossRounds(series.ours);
    const sr = acrossRounds(series.raw);
    const seriesLabel = `analytics by DAY, ${size.workflows.toLocaleString("en")} workflows / ${(perWorkflow * size.workflows).toLocaleString("en")} nodes`;
    rows.push(row(seriesLabel, "p50", "ms", so.p50, sr.p50), row(seriesLabel, "p99", "ms", so.p99, sr.p99));
    targets.push(
      target(
        `analytics by DAY p50 vs raw (${size.workflows.toLocaleString("en")} workflows)`,
        "≤ 1.5× raw",
        so.p50 / sr.p50,
        "×",
        (v) => v <= 1.5,
      ),
    );
    return {
      status: "ok",
      rows,
      targets,
      notes: [
        "Raw: one hand-written statement per query computing the same numbers from the same stored usage properties.",
        "Ours reads a workflow's counts from the counters its writes keep (the bench's caller sees everything); the rest is scanned as raw does.",
        "The series covers every workflow in the range (the bench's API runs without authentication: an admin's view), other suites' data included on both sides.",
        "Sizes: BENCH_ANALYTICS_NODES, BENCH_ANALYTICS_WORKFLOWS, BENCH_ANALYTICS_SERIES_NODES.",
      ],
    };
  },
};
