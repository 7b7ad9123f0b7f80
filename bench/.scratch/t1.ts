import { performance } from "node:perf_hooks";
import { appendNodes } from "../../src/domain/append-nodes";
import { startWorkflow } from "../../src/domain/start-workflow";
import { rawDriver } from "../lib/environment";
import { appendInput } from "../lib/payload";
import { rawAppend } from "../lib/raw";

async function main() {
  const driver = rawDriver("bolt://127.0.0.1:7687");
  const store = { driver, database: "neo4j", maxContentBytes: 1 << 20, maxBatchSize: 10000 };
  const { workflowId, root } = await startWorkflow(store, { name: "t", systemPrompt: "x" });
  let parent = root.id;
  for (let k = 0; k < 3; k++) {
    const t: number[] = [];
    for (let i = 0; i < 20; i++) {
      const input = appendInput(workflowId, parent, i);
      const t0 = performance.now();
      await appendNodes(store, [input]);
      t.push(performance.now() - t0);
      parent = input.id;
    }
    const r: number[] = [];
    for (let i = 0; i < 20; i++) {
      const input = appendInput(workflowId, parent, i);
      const t0 = performance.now();
      await rawAppend(driver, "neo4j", input);
      r.push(performance.now() - t0);
      parent = input.id;
    }
    console.log("domain", t.map((x) => x.toFixed(1)).join(" "));
    console.log("raw", r.map((x) => x.toFixed(1)).join(" "));
  }
  await driver.close();
}
main();
