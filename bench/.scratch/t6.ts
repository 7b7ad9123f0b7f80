import { performance } from "node:perf_hooks";
import { randomUUID } from "node:crypto";
import { startWorkflow } from "../../src/domain/start-workflow";
import { rawDriver } from "../lib/environment";
import { FLUSH } from "./t5";

async function main() {
  const driver = rawDriver("bolt://127.0.0.1:7687");
  const store = { driver, database: "neo4j", maxContentBytes: 1 << 20, maxBatchSize: 10000 };
  const { workflowId, root } = await startWorkflow(store, { name: "t", systemPrompt: "x" });
  let parent = root.id;
  const times: number[] = [];
  let prof: any;
  for (let i = 0; i < 12; i++) {
    const id = randomUUID();
    const node = { id, workflowId, branchId: root.branchId, type: "MESSAGE", content: "c", metadata: null, seq: i + 1, depth: i + 1, agentId: null, userId: null, timestamp: new Date().toISOString(), parentId: parent, watchBranchIds: null };
    const s = driver.session();
    const t0 = performance.now();
    const r = await s.executeWrite((tx) => tx.run((i === 11 ? "PROFILE " : "") + FLUSH, { nodes: [node], newBranches: [], changedBranches: [], edges: [{ type: "PARENT_OF", from: parent, to: id, reason: null, by: null, seq: null, at: null }], records: [], workflows: [{ id: workflowId, lastSeq: i + 1, nodeCount: i + 2, branchCount: 1 }] }));
    times.push(performance.now() - t0);
    prof = r.summary;
    await s.close();
    parent = id;
  }
  console.log("flush", times.map((x) => x.toFixed(1)).join(" "));
  const render = (p: any, d = 0): string[] => [`${"  ".repeat(d)}${p.operatorType} ${String(p.arguments.Details ?? "").slice(0, 120)} rows=${p.rows} hits=${p.dbHits}`, ...p.children.flatMap((c: any) => render(c, d + 1))];
  console.log(render(prof.profile).join("\n"));
  await driver.close();
}
main();
