import { performance } from "node:perf_hooks";
import { rawDriver } from "../lib/environment";

async function main() {
  const driver = rawDriver("bolt://127.0.0.1:7687");
  for (const n of [1, 2, 3]) {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = driver.session();
      const t0 = performance.now();
      await s.executeWrite(async (tx) => { for (let k = 0; k < n; k++) await tx.run("RETURN 1"); });
      times.push(performance.now() - t0);
      await s.close();
    }
    console.log(n, "queries/tx", times.map((x) => x.toFixed(1)).join(" "));
  }
  await driver.close();
}
main();
