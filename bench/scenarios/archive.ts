import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportWorkflow } from "../../src/domain/archive/export-workflow";
import { importWorkflow, linesOf } from "../../src/domain/archive/import-workflow";
import { purgeWorkflow } from "../../src/domain/retention/purge";
import { appendWhile, measured } from "../lib/append-load";
import { appendChain, scratchWorkflow } from "../lib/fixtures";
import { row, target, type Scenario } from "../lib/report";
import { percentile } from "../lib/stats";

/**
 * 14. Archive, restore and purge of one workflow (a chain), through the domain in this process:
 * export to a file and import from it (nodes/s, peak RSS of this process above its level before),
 * purge (nodes/s), and the p99 of single appends to another workflow over the API during the purge
 * vs the same number of appends without one.
 */
export const archive: Scenario = {
  id: 14,
  name: "Archive, restore and purge",
  async run(ctx) {
    const size = ctx.quick ? 10000 : 100000;
    const big = await scratchWorkflow(ctx.fx, `archive-${size}`);
    await appendChain(ctx.fx, big.workflowId, big.rootId, size);
    const other = await scratchWorkflow(ctx.fx, "archive-other");
    const dir = await mkdtemp(join(tmpdir(), "bench-archive-"));
    try {
      const file = join(dir, "archive.ndjson");
      const exported = await measured(async () => {
        const out = createWriteStream(file);
        for await (const line of exportWorkflow(ctx.fx.store, big.workflowId)) {
          if (!out.write(line)) await once(out, "drain");
        }
        out.end();
        await once(out, "close");
      });
      let purging = true;
      const purge = measured(() => purgeWorkflow(ctx.fx.store, big.workflowId)).finally(() => (purging = false));
      const during = await appendWhile(ctx, other.workflowId, other.rootId, () => purging);
      const purged = await purge;
      let count = 0;
      const without = await appendWhile(ctx, other.workflowId, during.parent, () => ++count < during.latencies.length);
      const imported = await measured(() => importWorkflow(ctx.fx.store, linesOf(createReadStream(file))));
      const p99During = percentile(during.latencies, 99);
      const p99Without = percentile(without.latencies, 99);
      const ratio = p99During / p99Without;
      const label = `${size.toLocaleString("en")} nodes (a chain)`;
      return {
        status: "ok",
        rows: [
          row(label, "export throughput", "nodes/s", size / exported.seconds, null),
          row(label, "export peak RSS (above start)", "MiB", exported.peakMiB, null),
          row(label, "import throughput", "nodes/s", size / imported.seconds, null),
          row(label, "import peak RSS (above start)", "MiB", imported.peakMiB, null),
          row(label, "purge throughput", "nodes/s", size / purged.seconds, null),
          row(label, "append p99 to another workflow during purge", "ms", p99During, null),
          row(label, "append p99 to another workflow without purge", "ms", p99Without, null),
        ],
        targets: [target("Append p99 during a purge vs without", "≤ 2×", ratio, "×", (v) => v <= 2)],
        notes: [
          `Export and import run in the bench process through the domain; RSS sampled every 20 ms without a forced GC. ${during.latencies.length} appends during the purge, as many without.`,
        ],
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
