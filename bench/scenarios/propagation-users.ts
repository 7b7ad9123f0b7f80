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
import { alternateAmong, runConcurrent, sleep } from "../lib/runner";
import { acrossRounds, median, roundStats } from "../lib/stats";
import { graphqlSubscribers, Tracker, type SubscriberSet } from "../lib/subscribers";

type Variant = "one user" | "many users";

/**
 * 9. Propagation with authentication on: `appendNode` sent (by an admin) → event received by 1,000
 * graphql-ws subscribers of one workflow who are 1,000 different users, each a `reader` granted
 * READ on it with `grantWorkflowAccess`, vs 1,000 subscribers who are one such user (one token).
 * Both sets stay open for the whole measurement and the events alternate between their two
 * workflows, so each side runs with the same background (the connections, the periodic access
 * re-checks of all 2,000 subscriptions). The ratio is the cost of per-subscriber authorization per
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
      ctx.log(`  ${count} subscribers of one user: connecting…`);
      open.push(await graphqlSubscribers(api.wsUrl, one.workflowId, count, tracker, () => oneToken));
      await tracker.untilLive(count, probe("one user"));
      ctx.log(`  ${count} subscribers who are ${count} users: connecting…`);
      open.push(await graphqlSubscribers(api.wsUrl, many.workflowId, count, tracker, (i) => tokens[i]));
      await tracker.untilLive(count, probe("many users"));
      const stopProfile = await ctx.profile(api, "s9-propagation-users");

      const spreads: Record<Variant, number[]> = { "one user": [], "many users": [] };
      const send = async (side: Variant) => {
        const { workflowId, rootId } = sides[side];
        const input = appendInput(workflowId, rootId, counter++, randomUUID());
        const t0 = performance.now();
        const latencies = await tracker.expect(input.id, t0, count, () => admin.request(APPEND_NODE_BRIEF, { input }));
        spreads[side].push(Math.max(...latencies) - Math.min(...latencies));
        return latencies;
      };
      const results = await alternateAmong<Variant, ReturnType<typeof roundStats>>(
        ["one user", "many users"],
        rounds,
        async (side, round) => {
          const all: number[] = [];
          const started = performance.now();
          for (let e = 0; e < (round < 0 ? 2 : events); e++) {
            all.push(...(await send(side)));
            await sleep(20);
          }
          if (round < 0) spreads[side].length = 0;
          return roundStats(all, performance.now() - started);
        },
        { warmup: true },
      );
      await stopProfile();
      if (tracker.errors.length) throw new Error(`subscription errors: ${JSON.stringify(tracker.errors.slice(0, 3))}`);
      const o = acrossRounds(results["one user"]);
      const m = acrossRounds(results["many users"]);
      const label = `1,000 subscribers, ${events} events × ${rounds} rounds`;
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
          "Both sets of 1,000 subscriptions are open throughout; events alternate between the two workflows by round.",
        ],
      };
    } finally {
      for (const set of open) await set.close().catch(() => undefined);
      await api.stop();
    }
  },
};
