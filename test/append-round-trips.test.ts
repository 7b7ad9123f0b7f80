import { randomUUID } from "node:crypto";
import { disposeAll, gqlOk, newWorkflow, startApp, testConfig, testDriver, type RunningApp } from "./support/harness";
import { APPEND_NODE_BRIEF } from "./support/documents";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy";
import { countNode, emptyStats, usageOf, type WorkflowStats } from "../src/domain/analytics/usage";

/**
 * Round trips to Neo4j per appendNode, counted at the socket: the common append (extending its
 * branch, a selection of stored fields) is one auto-committed statement, with no access view
 * looked up before it (the statement checks the caller's access itself) and no read-back; a fork
 * goes on to the full write plan.
 */
let api: RunningApp;
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await startTcpProxy();
  api = await startApp({ neo4j: { ...testConfig().neo4j, uri: `bolt://127.0.0.1:${proxy.port}` } });
});
afterAll(disposeAll);

/** The round trips `work` causes, the fewest over `runs` runs (a background read may add to one). */
async function roundTripsOf(runs: number, work: (run: number) => Promise<void>): Promise<number> {
  let fewest = Infinity;
  for (let run = 0; run < runs; run++) {
    const before = proxy.roundTrips();
    await work(run);
    fewest = Math.min(fewest, proxy.roundTrips() - before);
  }
  return fewest;
}

it("appends a node extending its branch in one round trip: one statement, no access view before it", async () => {
  const { workflowId, rootId } = await newWorkflow(api.url);
  const append = (parentId: string) =>
    gqlOk(api.url, APPEND_NODE_BRIEF, {
      input: { id: randomUUID(), workflowId, parentId, type: "MESSAGE", content: "hello", agentId: "a" },
    });
  let tip = rootId;
  // Warm: the pool's connection is open and the statements are planned.
  for (let i = 0; i < 3; i++) tip = (await append(tip)).appendNode.id;
  const extending = await roundTripsOf(5, async () => {
    tip = (await append(tip)).appendNode.id;
  });
  // Each append under the root forks a new branch: the write plan's path.
  await append(rootId);
  const forking = await roundTripsOf(5, async () => {
    await append(rootId);
  });
  console.log(`round trips per appendNode: extending ${extending}, forking ${forking}`);
  // The append (one statement); a fork adds the write plan's transaction: BEGIN, lock+read,
  // write, COMMIT.
  expect(extending).toBe(1);
  expect(forking).toBe(extending + 4);
  const { records } = await testDriver().executeQuery(
    "MATCH (n:WorkflowNode {workflowId: $workflowId}) RETURN count(n) AS nodes, max(n.seq) AS lastSeq",
    { workflowId },
  );
  expect(records[0].get("nodes")).toBe(1 + 3 + 5 + 1 + 5);
  expect(records[0].get("lastSeq")).toBe(3 + 5 + 1 + 5);
});

it("keeps the analytics counters as the write plan's countNode does", async () => {
  const { workflowId, rootId } = await newWorkflow(api.url);
  const expected = emptyStats();
  countNode(expected, { type: "SYSTEM", agentId: null, restrictedTo: null }, null);
  let tip = rootId;
  const cases = [
    { agentId: null, usage: null },
    { agentId: "a", usage: { model: "m1", inputTokens: 10, outputTokens: 2, costUsd: 0.0012, latencyMs: 300 } },
    { agentId: "a", usage: { model: null, inputTokens: 5 } },
    { agentId: null, usage: { model: "m1", costUsd: 0.1 } },
    { agentId: "b", usage: { model: "m2", outputTokens: 7, latencyMs: 12.5 } },
  ];
  for (const [i, { agentId, usage }] of cases.entries()) {
    const metadata = usage ? { usage } : { step: i };
    const type = i % 2 === 0 ? "MESSAGE" : "ACTION";
    const data = await gqlOk(api.url, APPEND_NODE_BRIEF, {
      input: { workflowId, parentId: tip, type, content: `#${i}`, metadata, agentId },
    });
    tip = data.appendNode.id;
    countNode(expected, { type, agentId, restrictedTo: null }, usageOf(JSON.stringify(metadata)));
  }
  const { records } = await testDriver().executeQuery("MATCH (w:Workflow {id: $workflowId}) RETURN w.stats AS stats", {
    workflowId,
  });
  const stats = JSON.parse(records[0].get("stats") as string) as WorkflowStats;
  expect(stats).toEqual(expected);
});
