import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { scratchWorkflow } from "../lib/fixtures";
import { graphqlClient } from "../lib/graphql-client";
import { appendInput } from "../lib/payload";
import { row, type Row, type Scenario } from "../lib/report";
import { alternate, sleep } from "../lib/runner";
import { acrossRounds, roundStats } from "../lib/stats";
import { graphqlSubscribers, NODE_ADDED, Tracker, type SubscriberSet } from "../lib/subscribers";

/** `count` SSE streams on /graphql/stream (one HTTP connection each, as EventSource opens them). */
async function sseSubscribers(
  streamUrl: string,
  workflowId: string,
  count: number,
  tracker: Tracker,
): Promise<SubscriberSet> {
  const aborts: AbortController[] = [];
  const url = `${streamUrl}?query=${encodeURIComponent(NODE_ADDED)}&variables=${encodeURIComponent(JSON.stringify({ workflowId }))}`;
  const opened: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const abort = new AbortController();
    aborts.push(abort);
    opened.push(
      fetch(url, { headers: { accept: "text/event-stream" }, signal: abort.signal }).then((res) => {
        void (async () => {
          const decoder = new TextDecoder();
          let buffer = "";
          try {
            for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
              buffer += decoder.decode(chunk, { stream: true });
              let end: number;
              while ((end = buffer.indexOf("\n\n")) !== -1) {
                const data = /^event: next\ndata: (.*)$/m.exec(buffer.slice(0, end))?.[1];
                buffer = buffer.slice(end + 2);
                if (!data) continue;
                const value = JSON.parse(data) as { data?: { nodeAdded: { id: string } }; errors?: unknown };
                if (value.errors) tracker.errors.push(value.errors);
                else if (value.data) tracker.receive(value.data.nodeAdded.id, i);
              }
            }
          } catch {
            // aborted by close()
          }
        })();
      }),
    );
  }
  await Promise.all(opened);
  return {
    count,
    async close() {
      for (const abort of aborts) abort.abort();
    },
  };
}

/**
 * 13. Propagation over SSE: from `appendNode` sent to the event received by every subscriber on
 * /graphql/stream (graphql-sse, one HTTP stream each), against the same over graphql-ws (one
 * connection each) as the baseline, on the same API process, one event at a time.
 */
export const propagationSse: Scenario = {
  id: 13,
  name: "Propagation over SSE vs graphql-ws",
  async run(ctx) {
    const counts = ctx.quick ? [1, 50] : [1, 100];
    const rounds = ctx.quick ? 3 : 5;
    const events = ctx.quick ? 5 : 10;
    const api = await ctx.spawnApi();
    const gql = graphqlClient(api.url);
    const streamUrl = api.url.replace(/\/graphql$/, "/graphql/stream");
    const rows: Row[] = [];
    const open: SubscriberSet[] = [];
    try {
      let counter = 0;
      for (const count of counts) {
        const sse = await scratchWorkflow(ctx.fx, `propagation-sse-${count}`);
        const ws = await scratchWorkflow(ctx.fx, `propagation-ws-${count}`);
        const tracker = new Tracker();
        ctx.log(`  ${count} subscribers per transport: connecting…`);
        const sseSet = await sseSubscribers(streamUrl, sse.workflowId, count, tracker);
        open.push(sseSet);
        await tracker.untilLive(count, () =>
          gql.request(APPEND_NODE_BRIEF, { input: appendInput(sse.workflowId, sse.rootId, counter++) }),
        );
        const wsSet = await graphqlSubscribers(api.wsUrl, ws.workflowId, count, tracker);
        open.push(wsSet);
        await tracker.untilLive(count, () =>
          gql.request(APPEND_NODE_BRIEF, { input: appendInput(ws.workflowId, ws.rootId, counter++) }),
        );
        // "ours" is SSE, "raw" (the baseline) graphql-ws.
        const results = await alternate(
          rounds,
          async (side) => {
            const target = side === "ours" ? sse : ws;
            const all: number[] = [];
            const started = performance.now();
            for (let e = 0; e < events; e++) {
              const input = appendInput(target.workflowId, target.rootId, counter++, randomUUID());
              const t0 = performance.now();
              all.push(...(await tracker.expect(input.id, t0, count, () => gql.request(APPEND_NODE_BRIEF, { input }))));
              await sleep(20);
            }
            return roundStats(all, performance.now() - started);
          },
          { warmup: true },
        );
        if (tracker.errors.length)
          throw new Error(`subscription errors: ${JSON.stringify(tracker.errors.slice(0, 3))}`);
        const o = acrossRounds(results.ours);
        const r = acrossRounds(results.raw);
        const label = `${count} subscriber${count > 1 ? "s" : ""}, ${events} events × ${rounds} rounds`;
        rows.push(
          row(label, "p50 (SSE / graphql-ws)", "ms", o.p50, r.p50),
          row(label, "p99 (SSE / graphql-ws)", "ms", o.p99, r.p99),
        );
        await sseSet.close();
        await wsSet.close();
        open.length = 0;
      }
    } finally {
      for (const set of open) await set.close().catch(() => undefined);
      await api.stop();
    }
    return {
      status: "ok",
      rows,
      targets: [],
      notes: [
        "Ours: SSE streams on /graphql/stream (graphql-sse, distinct connections); raw: graphql-ws on /graphql, as the baseline. " +
          "Both from appendNode over HTTP to receipt by every subscriber, in the bench process.",
      ],
    };
  },
};
