import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { randomUUID } from "node:crypto";
import { startWorkflow } from "../../src/domain/start-workflow";
import { STORED_NODE_PROJECTION, WRITABLE_NODE_PROPERTIES } from "../../src/domain/workflow-node";
import { BRANCH_PROJECTION } from "../../src/domain/branch";
import { appendNodes } from "../../src/domain/append-nodes";
import { rawDriver } from "../lib/environment";
import { appendInput } from "../lib/payload";

const src = readFileSync("src/domain/workflow-writer.ts", "utf8");
const tpl = (name: string) => {
  const m = new RegExp("const " + name + " = `([\\s\\S]*?)`;").exec(src)![1];
  return new Function("STORED_NODE_PROJECTION", "WRITABLE_NODE_PROPERTIES", "BRANCH_PROJECTION", "return `" + m + "`;")(STORED_NODE_PROJECTION, WRITABLE_NODE_PROPERTIES, BRANCH_PROJECTION) as string;
};
const LOCK_AND_READ = tpl("LOCK_AND_READ");
const render = (p: any, d = 0): string[] => [`${"  ".repeat(d)}${p.operatorType} ${String(p.arguments.Details ?? "").slice(0, 150)} rows=${p.rows} hits=${p.dbHits} time=${p.time ?? ""}`, ...p.children.flatMap((c: any) => render(c, d + 1))];

async function main() {
  const driver = rawDriver("bolt://127.0.0.1:7687");
  const store = { driver, database: "neo4j", maxContentBytes: 1 << 20, maxBatchSize: 10000 };
  const { workflowId, root } = await startWorkflow(store, { name: "t", systemPrompt: "x" });
  let parent = root.id;
  for (let i = 0; i < 5; i++) { const inp = appendInput(workflowId, parent, i); await appendNodes(store, [inp]); parent = inp.id; }
  const times: number[] = [];
  let prof: any;
  for (let i = 0; i < 10; i++) {
    const s = driver.session();
    const t0 = performance.now();
    const r = await s.executeWrite((tx) => tx.run((i === 9 ? "PROFILE " : "") + LOCK_AND_READ, { workflowIds: [workflowId], nodeIds: [randomUUID(), parent], branchIds: [] }));
    times.push(performance.now() - t0);
    if (i === 9) prof = r.summary;
    await s.close();
  }
  console.log("lock_and_read", times.map((x) => x.toFixed(1)).join(" "));
  console.log(render(prof.profile).join("\n"));
  await driver.close();
}
main();
export const FLUSH = tpl("FLUSH");
