import { performance } from "node:perf_hooks";
import { randomUUID } from "node:crypto";
import { startWorkflow } from "../../src/domain/start-workflow";
import { WRITABLE_NODE_PROPERTIES } from "../../src/domain/workflow-node";
import { rawDriver } from "../lib/environment";

const CREATE_NODES = `
UNWIND $nodes AS row
CREATE (n:WorkflowNode)
SET n = row ${WRITABLE_NODE_PROPERTIES}, n.timestamp = datetime(row.timestamp)
WITH count(*) AS created
UNWIND $nodes AS row
MATCH (parent:WorkflowNode {id: row.parentId})
MATCH (child:WorkflowNode {id: row.id})
CREATE (parent)-[:PARENT_OF]->(child)
WITH count(*) AS linked
UNWIND $workflows AS update
MATCH (w:Workflow {id: update.id})
SET w.lastSeq = update.lastSeq, w.nodeCount = w.nodeCount + update.added
RETURN count(*) AS updated`;

async function main() {
  const driver = rawDriver("bolt://127.0.0.1:7687");
  const store = { driver, database: "neo4j", maxContentBytes: 1 << 20, maxBatchSize: 10000 };
  const { workflowId, root } = await startWorkflow(store, { name: "t", systemPrompt: "x" });
  let parent = root.id;
  let seq = 0;
  const times: number[] = [];
  let last: any;
  for (let i = 0; i < 10; i++) {
    const node = { id: randomUUID(), workflowId, branchId: root.branchId, type: "MESSAGE", content: "c", metadata: null, seq: ++seq, depth: seq, agentId: null, userId: null, timestamp: new Date().toISOString(), parentId: parent };
    const s = driver.session();
    const t0 = performance.now();
    last = await s.executeWrite((tx) => tx.run((i === 9 ? "PROFILE " : "") + CREATE_NODES, { nodes: [node], workflows: [{ id: workflowId, lastSeq: seq, added: 1 }] }));
    times.push(performance.now() - t0);
    await s.close();
    parent = node.id;
  }
  console.log("create", times.map((x) => x.toFixed(1)).join(" "));
  const render = (p: any, d = 0): string[] => [`${"  ".repeat(d)}${p.operatorType} ${p.arguments.Details ?? ""} rows=${p.rows} hits=${p.dbHits}`, ...p.children.flatMap((c: any) => render(c, d + 1))];
  console.log(render(last.summary.profile).join("\n"));
  await driver.close();
}
main();
