import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { ADMIN_SCOPE } from "../../src/auth/access-scope";
import { signToken } from "../../src/auth/sign-token";
import { grantWorkflowAccess } from "../../src/domain/grants";
import { encodeHistoryCursor } from "../../src/domain/history/history-page";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { ensureChain, nodeAtSeq, scratchWorkflow } from "../lib/fixtures";
import { graphqlClient } from "../lib/graphql-client";
import { appendInput } from "../lib/payload";
import { row, target, type Row, type Scenario } from "../lib/report";
import { alternateAmong, sleep } from "../lib/runner";
import { acrossRounds, median, percentile, roundStats, type RoundStats } from "../lib/stats";

/** One of the attacker's queries. */
interface Attack {
  name: string;
  query: string;
  variables: Record<string, unknown>;
}

/** What the attacker saw of one kind of query. */
interface AttackLog {
  sent: number;
  refused: Map<string, number>;
  failed: Map<string, number>;
  latencies: number[];
}

/** The chain the attacker reads (kept between runs). */
const CHAIN = 10000;
/** Queries in flight at once from the attacking client. */
const IN_FLIGHT = 4;

type Side = "idle" | "attacked" | "attacked, no root paths";
const SIDES: readonly Side[] = ["idle", "attacked", "attacked, no root paths"];

/** CPU seconds a process has used (user + system; /proc/<pid>/stat, at 100 ticks a second). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * 11. Appends while another client sends the worst queries it can: one client keeps IN_FLIGHT
 * requests going, cycling through a nested `pathToRoot` (each step's own root path, the deepest
 * nesting the cost limit lets through), 500 aliases (refused by QUERY_MAX_ALIASES), nested
 * `childrenConnection`s as deep as QUERY_MAX_DEPTH allows, and the largest pages allowed
 * (`history(first: 1000)` and `workflowNodes(limit: 1000)` with their content, and a history page
 * with each node's root path). Meanwhile another client appends one node at a time to
 * its own workflow. Rounds rotate idle / under attack / under the attack without its two root-path
 * queries (to tell what dominates); the figure is append p99 under attack / idle.
 *
 * The API runs with authentication on and its default limits: the attacker is a `reader` granted
 * READ on the chain, the writer a `writer` granted WRITE on its workflow, each with its own token,
 * so each has its own budgets. The attacker ignores `Retry-After` and sends again at once.
 */
export const worstQueries: Scenario = {
  id: 11,
  name: "Appends under the worst queries",
  async run(ctx) {
    const rounds = ctx.quick ? 2 : 4;
    const appends = ctx.quick ? 30 : 50;
    // How deep the attacker's nested root paths go. Their cost grows with depth² and the limits do
    // not bound it (see docs/performance.md): 500 keeps the machine, which is shared, usable.
    const nestedDepth = ctx.quick ? 250 : 500;
    const { workflowId: chain } = await ensureChain(ctx.fx, CHAIN);
    const deepId = await nodeAtSeq(ctx.fx, chain, nestedDepth);
    const attacks = worstAttacks(chain, deepId, nestedDepth);
    const writer = await scratchWorkflow(ctx.fx, "worst-queries-writer");
    const secret = randomBytes(32).toString("hex");
    const api = await ctx.spawnApi({ AUTH_JWT_SECRET: secret });
    await grantWorkflowAccess(ctx.fx.store, ADMIN_SCOPE, {
      workflowId: chain,
      principal: "bench-attacker",
      access: "READ",
    });
    await grantWorkflowAccess(ctx.fx.store, ADMIN_SCOPE, {
      workflowId: writer.workflowId,
      principal: "bench-writer",
      access: "WRITE",
    });
    const attackerToken = await signToken(secret, { sub: "bench-attacker", roles: ["reader"], ttlSeconds: 3600 });
    const writerClient = graphqlClient(
      api.url,
      await signToken(secret, { sub: "bench-writer", roles: ["writer"], ttlSeconds: 3600 }),
    );
    let parent = writer.rootId;
    let counter = 0;
    const append = async () => {
      const input = appendInput(writer.workflowId, parent, counter++);
      try {
        await writerClient.request(APPEND_NODE_BRIEF, { input });
      } catch (error) {
        const { exitCode, signalCode } = api.child;
        if (exitCode === null && signalCode === null) throw error;
        throw new Error(`the API process exited (${signalCode ?? `code ${exitCode}`}) during the attack`);
      }
      parent = input.id;
    };

    const logs = new Map<string, AttackLog>(
      attacks.map((a) => [a.name, { sent: 0, refused: new Map(), failed: new Map(), latencies: [] }]),
    );
    const send = async (attack: Attack, record = true) => {
      const log: AttackLog = record
        ? logs.get(attack.name)!
        : { sent: 0, refused: new Map(), failed: new Map(), latencies: [] };
      const t0 = performance.now();
      let body: { errors?: { extensions?: { code?: string; rule?: string } }[] };
      try {
        const res = await fetch(api.url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${attackerToken}` },
          body: JSON.stringify({ query: attack.query, variables: attack.variables }),
        });
        body = (await res.json()) as typeof body;
      } catch (error) {
        // A kept-alive socket the server closed as it was reused (the loaded machine stretches
        // that race): a failed request of the attacker's, unless the API itself is gone.
        if (api.child.exitCode !== null || api.child.signalCode !== null) throw error;
        body = { errors: [{ extensions: { code: "connection closed" } }] };
      }
      log.sent += 1;
      log.latencies.push(performance.now() - t0);
      const error = body.errors?.[0]?.extensions;
      if (!error) return;
      const key = error.rule ? `${error.code} (${error.rule})` : String(error.code);
      const into = error.code === "QUERY_TOO_COMPLEX" || error.code === "RATE_LIMITED" ? log.refused : log.failed;
      into.set(key, (into.get(key) ?? 0) + 1);
    };
    // The attacker: IN_FLIGHT workers cycling through the attacks until told to stop. Only the
    // full attack's figures are recorded per query.
    const attack = (side: Side) => {
      const list = side === "attacked" ? attacks : attacks.filter((a) => !a.query.includes("pathToRoot"));
      let stopped = false;
      let next = 0;
      const workers = Array.from({ length: IN_FLIGHT }, async () => {
        while (!stopped) await send(list[next++ % list.length], side === "attacked");
      });
      return async () => {
        stopped = true;
        await Promise.all(workers);
      };
    };

    // Each attack once, alone, before the rounds: its cost without contention.
    const alone: Record<string, number> = {};
    for (const a of attacks) {
      const t0 = performance.now();
      await send(a);
      alone[a.name] = performance.now() - t0;
    }
    for (const log of logs.values()) log.latencies.length = 0;
    const stopProfile = await ctx.profile(api, "s11-worst-queries");
    const cpu: Record<Side, { cpu: number; wall: number }> = {
      idle: { cpu: 0, wall: 0 },
      attacked: { cpu: 0, wall: 0 },
      "attacked, no root paths": { cpu: 0, wall: 0 },
    };
    const results = await alternateAmong<Side, RoundStats>(
      SIDES,
      rounds,
      async (side, round) => {
        const stop = side === "idle" ? undefined : attack(side);
        if (stop) await sleep(1000);
        const latencies: number[] = [];
        const started = performance.now();
        const cpu0 = cpuSeconds(api.pid);
        for (let i = 0; i < (round < 0 ? 10 : appends); i++) {
          const t0 = performance.now();
          await append();
          latencies.push(performance.now() - t0);
        }
        const elapsed = performance.now() - started;
        if (round >= 0) {
          cpu[side].cpu += cpuSeconds(api.pid) - cpu0;
          cpu[side].wall += elapsed / 1000;
        }
        const stats = roundStats(latencies, elapsed);
        // Wait for the attacker's queries in flight, so the next idle round is idle.
        await stop?.();
        return stats;
      },
      { warmup: true },
    );
    await stopProfile();
    const idle = acrossRounds(results.idle);
    const attacked = acrossRounds(results.attacked);
    const lighter = acrossRounds(results["attacked, no root paths"]);
    const label = `${appends} appends × ${rounds} rounds, one at a time`;
    const rows: Row[] = [
      row(label, "append p50, under attack (ours) vs idle (raw column)", "ms", attacked.p50, idle.p50),
      row(label, "append p99, under attack (ours) vs idle (raw column)", "ms", attacked.p99, idle.p99),
      row(label, "append p50, attack without the root-path queries vs idle", "ms", lighter.p50, idle.p50),
      row(label, "append p99, attack without the root-path queries vs idle", "ms", lighter.p99, idle.p99),
      ...SIDES.map((side) =>
        row("API process", `CPU busy while the writer appends, ${side}`, "cores", cpu[side].cpu / cpu[side].wall, null),
      ),
    ];
    const notes: string[] = [
      `The attacker keeps ${IN_FLIGHT} requests in flight over HTTP with its own token, ignoring Retry-After; ` +
        `the writer appends to its own workflow with another. The attacker reads a ${CHAIN.toLocaleString("en")}-node chain. ` +
        "The API has authentication on and its default limits (the query cost rate among them).",
      "In this scenario the 'Raw' column is the same API idle: the ratio is the cost of the attacker to the writer.",
    ];
    for (const a of attacks) {
      const log = logs.get(a.name)!;
      const outcome = [
        ...[...log.refused].map(([code, n]) => `refused ${n}× ${code}`),
        ...[...log.failed].map(([code, n]) => `failed ${n}× ${code}`),
      ];
      const ran = log.sent - [...log.refused.values(), ...log.failed.values()].reduce((s, n) => s + n, 0);
      rows.push(
        row(
          `attack: ${a.name}`,
          `p50 under attack (${log.sent} sent, ${ran} answered${outcome.length ? `; ${outcome.join(", ")}` : ""})`,
          "ms",
          log.latencies.length ? median(log.latencies) : null,
          null,
          `alone ${alone[a.name].toFixed(0)} ms, p99 ${percentile(log.latencies, 99).toFixed(0)} ms`,
        ),
      );
    }
    return {
      status: "ok",
      rows,
      targets: [
        target(
          "Append p99 while another client sends the worst queries / idle",
          "≤ 3×",
          attacked.p99 / idle.p99,
          "×",
          (v) => v <= 3,
        ),
        target(
          "Append p99 under the same attack without its root-path queries / idle",
          "≤ 3×",
          lighter.p99 / idle.p99,
          "×",
          (v) => v <= 3,
        ),
      ],
      notes,
    };
  },
};

/** The worst queries the limits let through (and 500 aliases, which they refuse). */
export function worstAttacks(chain: string, deepId: string, depth: number): Attack[] {
  const aliases = Array.from({ length: 500 }, (_, i) => `a${i}: __typename`).join(" ");
  // Each level is childrenConnection → edges → node: 4 levels plus the root list and a leaf field
  // stay within QUERY_MAX_DEPTH 15, and 10⁴ items within QUERY_MAX_COMPLEXITY.
  let nested = "id content";
  for (let level = 0; level < 4; level++) nested = `id childrenConnection(first: 10) { edges { node { ${nested} } } }`;
  return [
    {
      // Refused before it runs (QUERY_TOO_COMPLEX, nestedPaths), like the 500 aliases below.
      name: `nested pathToRoot at depth ${depth.toLocaleString("en")}`,
      query: `
        query WorstNestedPath($id: ID!) {
          workflowNodes(where: { id: { eq: $id } }, limit: 1) {
            pathToRoot {
              id
              pathToRoot {
                id
              }
            }
          }
        }
      `,
      variables: { id: deepId },
    },
    { name: "500 aliases", query: `query WorstAliases { ${aliases} }`, variables: {} },
    {
      name: "nested childrenConnection, 4 levels",
      query: /* GraphQL */ `
        query WorstConnections($workflowId: ID!) {
          workflowNodes(where: { workflowId: { eq: $workflowId }, seq: { eq: 0 } }, limit: 1) { ${nested} }
        }`,
      variables: { workflowId: chain },
    },
    {
      name: "history(first: 1000) with content",
      query: /* GraphQL */ `
        query WorstHistory($workflowId: ID!, $after: String) {
          history(workflowId: $workflowId, first: 1000, after: $after) {
            edges {
              node {
                id
                seq
                type
                content
                metadata
                timestamp
                agentId
              }
            }
            pageInfo {
              endCursor
            }
          }
        }
      `,
      variables: { workflowId: chain, after: encodeHistoryCursor(CHAIN - 1001) },
    },
    {
      name: "workflowNodes(limit: 1000) with content",
      query: /* GraphQL */ `
        query WorstList($workflowId: ID!) {
          workflowNodes(where: { workflowId: { eq: $workflowId } }, limit: 1000) {
            id
            seq
            content
            metadata
            timestamp
          }
        }
      `,
      variables: { workflowId: chain },
    },
    {
      name: `history(first: ${depth}) with each node's pathToRoot, depths 0–${depth - 1}`,
      query: /* GraphQL */ `
        query WorstHistoryPaths($workflowId: ID!, $first: Int!) {
          history(workflowId: $workflowId, first: $first) {
            edges {
              node {
                id
                pathToRoot {
                  id
                }
              }
            }
          }
        }
      `,
      variables: { workflowId: chain, first: depth },
    },
  ];
}
