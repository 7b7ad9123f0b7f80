import { performance } from "node:perf_hooks";
import { randomUUID } from "node:crypto";
import { startWorkflow } from "../../src/domain/start-workflow";
import { STORED_NODE_PROJECTION } from "../../src/domain/workflow-node";
import { rawDriver } from "../lib/environment";

const LOCK = `
CALL (*) {
  UNWIND $workflowIds AS workflowId
  MATCH (w:Workflow {id: workflowId})
  WITH collect(w) AS locked
  CALL apoc.lock.nodes(locked)
  RETURN size(locked) AS lockedCount
}
RETURN lockedCount`;
const READS = `
CALL (*) {
  UNWIND $workflowIds AS workflowId
  MATCH (w:Workflow {id: workflowId})
  RETURN collect(w {.id, .lastSeq}) AS workflows
}
CALL (*) {
  UNWIND $nodeIds AS nodeId
  MATCH (n:WorkflowNode {id: nodeId})
  RETURN collect(${STORED_NODE_PROJECTION}) AS existing
}
CALL (*) {
  UNWIND $parentIds AS parentId
  MATCH (n:WorkflowNode {id: parentId})
  RETURN collect(n {.id, .workflowId, .branchId, .depth}) AS parents
}
RETURN workflows, existing, parents`;

async function main() {
  const driver = rawDriver("bolt://127.0.0.1:7687");
  const store = { driver, database: "neo4j", maxContentBytes: 1 << 20, maxBatchSize: 10000 };
  const { workflowId, root } = await startWorkflow(store, { name: "t", systemPrompt: "x" });
  const params = { workflowIds: [workflowId], nodeIds: [randomUUID()], parentIds: [root.id] };
  for (const [name, q] of [["lock", LOCK], ["reads", READS], ["lock only apoc", "MATCH (w:Workflow {id: $workflowIds[0]}) CALL apoc.lock.nodes([w]) RETURN 1"], ["set lock", "MATCH (w:Workflow {id: $workflowIds[0]}) SET w._l = true RETURN 1"]] as const) {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = driver.session();
      const t0 = performance.now();
      await s.executeWrite((tx) => tx.run(q, params));
      times.push(performance.now() - t0);
      await s.close();
    }
    console.log(name, times.map((x) => x.toFixed(1)).join(" "));
  }
  const s = driver.session();
  for (const [name, q] of [["lock", LOCK], ["reads", READS]]) {
    const t0 = performance.now();
    const r = await s.executeWrite((tx) => tx.run("PROFILE " + q, params));
    console.log(name, (performance.now() - t0).toFixed(1), "dbHits", JSON.stringify(r.summary.profile && (r.summary.profile as any).dbHits), r.summary.resultAvailableAfter?.toString(), r.summary.resultConsumedAfter?.toString());
  }
  await s.close();
  await driver.close();
}
main();
