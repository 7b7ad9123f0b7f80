import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { ADMIN_SCOPE } from "../../src/auth/access-scope";
import { signToken } from "../../src/auth/sign-token";
import { grantWorkflowAccess } from "../../src/domain/grants";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { scratchWorkflow } from "../lib/fixtures";
import { graphqlClient } from "../lib/graphql-client";
import { appendInput } from "../lib/payload";
import { row, target, type Row, type Scenario, type Target } from "../lib/report";
import { runConcurrent, sleep } from "../lib/runner";
import { acrossRounds, median, roundStats } from "../lib/stats";
import { graphqlSubscribers, Tracker, type SubscriberSet } from "../lib/subscribers";

type Variant = "one user" | "many users";

/**
 * 9. Propagation with authentication on: `appendNode` sent (by an admin) → event received by 1,000
 * graphql-ws subscribers of one workflow who are 1,000 different users, each a `reader` granted
 * READ on it with `grantWorkflowAccess`, vs 1,000 subscribers who are one such user (one token).
 * One set is open at a time; the phases alternate (one user, 1,000 users, 1,000 users, one user),
 * each with a warm-up and its rounds. The ratio is the cost of per-subscriber authorization per
 * event: what the API does once per distinct caller instead of once per operation.
 */
export const propagationUsers: Scenario = {
  id: 9,
  name: "Propagation to 1,000 users (auth on)",
  async run(ctx) {
    const count = 1000;
    const rounds = ctx.quick ? 3 : 5;
    const events = ctx.quick ? 5 : 10;
    const secret = randomBytes(32).toString("hex");
    const api = await ctx.spawnApi({ AUTH_JWT_SECRET: secret });
    const open: SubscriberSet[] = [];
    const rows: Row[] = [];
    const targets: Target[] = [];
    try {
      const admin = graphqlClient(api.url, await signToken(secret, { sub: "bench-admin", roles: ["admin"] }));
      const one = await scratchWorkflow(ctx.fx, "propagation-one-user");
      const many = await scratchWorkflow(ctx.fx, "propagation-many-users");
      const users = Array.from({ length: count }, (_, i) => `bench-user-${i}`);
      ctx.log(`  granting READ to 1 + ${count} users…`);
      // Through the domain operation behind the grantWorkflowAccess mutation (faster than 1,000 requests).
      const grant = (workflowId: string, principal: string) =>
        grantWorkflowAccess(ctx.fx.store, ADMIN_SCOPE, { workflowId, principal, access: "READ" });
      await grant(one.workflowId, "bench-one-user");
      await runConcurrent(count, 4, (i) => grant(many.workflowId, users[i]));
      const oneToken = await signToken(secret, { sub: "bench-one-user", roles: ["reader"] });
      const tokens = await Promise.all(users.map((sub) => signToken(secret, { sub, roles: ["reader"] })));

      let counter = 0;
      const tracker = new Tracker();
      const sides = { "one user": one, "many users": many } as const;
      const probe = (side: Variant) => () =>
        admin.request(APPEND_NODE_BRIEF, {
          input: appendInput(sides[side].workflowId, sides[side].rootId, counter++),
        });
      const spreads: Record<Variant, number[]> = { "one user": [], "many users": [] };
      const send = async (side: Variant) => {
        const { workflowId, rootId } = sides[side];
        const input = appendInput(workflowId, rootId, counter++, randomUUID());
        const t0 = performance.now();
        const latencies = await tracker.expect(input.id, t0, count, () => admin.request(APPEND_NODE_BRIEF, { input }));
        spreads[side].push(Math.max(...latencies) - Math.min(...latencies));
        return latencies;
      };
      // One set of 1,000 open at a time (2,000 connections at once overload 2 shared cores): each
      // phase connects its set, warms up, runs its rounds and closes it; the phases alternate.
      const results: Record<Variant, ReturnType<typeof roundStats>[]> = { "one user": [], "many users": [] };
      const phases: Variant[] = ctx.quick
        ? ["one user", "many users"]
        : ["one user", "many users", "many users", "one user"];
      const perPhase = Math.ceil(rounds / (phases.length / 2));
      const stopProfile = await ctx.profile(api, "s9-propagation-users");
      for (const side of phases) {
        ctx.log(
          `  ${side === "one user" ? `${count} subscribers of one user` : `${count} subscribers who are ${count} users`}: connecting…`,
        );
        const set = await graphqlSubscribers(api.wsUrl, sides[side].workflowId, count, tracker, (i) =>
          side === "one user" ? oneToken : tokens[i],
        );
        open.push(set);
        await tracker.untilLive(count, probe(side));
        for (let round = -1; round < perPhase; round++) {
          const all: number[] = [];
          const started = performance.now();
          for (let e = 0; e < (round < 0 ? 2 : events); e++) {
            all.push(...(await send(side)));
            await sleep(20);
          }
          if (round < 0) spreads[side].length = 0;
          else results[side].push(roundStats(all, performance.now() - started));
        }
        await set.close();
        open.length = 0;
      }
      await stopProfile();
      if (tracker.errors.length) throw new Error(`subscription errors: ${JSON.stringify(tracker.errors.slice(0, 3))}`);
      const o = acrossRounds(results["one user"]);
      const m = acrossRounds(results["many users"]);
      const label = `1,000 subscribers, ${events} events × ${results["one user"].length} rounds each`;
      rows.push(
        row(label, "p50, 1,000 users (ours) vs 1 user (raw column)", "ms", m.p50, o.p50),
        row(label, "p99, 1,000 users (ours) vs 1 user (raw column)", "ms", m.p99, o.p99),
        row(
          label,
          "fan-out spread p50 (last − first receipt), 1,000 users vs 1",
          "ms",
          median(spreads["many users"]),
          median(spreads["one user"]),
        ),
      );
      targets.push(
        target(
          "Propagation p99, 1,000 users / 1 user (1,000 subscribers each)",
          "≤ 1.25×",
          m.p99 / o.p99,
          "×",
          (v) => v <= 1.25,
        ),
      );
      return {
        status: "ok",
        rows,
        targets,
        notes: [
          "Authentication on (AUTH_JWT_SECRET, HS256). Subscribers are readers with a READ grant; the writer is an admin.",
          "In this scenario the 'Raw' column is the same API with 1,000 subscribers of one user: the ratio is the cost of 1,000 distinct callers.",
          "One set of 1,000 subscriptions is open at a time; phases alternate one user / 1,000 users / 1,000 users / one user (--quick: one of each).",
        ],
      };
    } finally {
      for (const set of open) await set.close().catch(() => undefined);
      await api.stop();
    }
  },
};
