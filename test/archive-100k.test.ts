import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_SCOPE } from "../src/auth/access-scope";
import { ANONYMOUS_SUB } from "../src/auth/principal";
import { appendNodes, type AppendNodeInput } from "../src/domain/append-nodes";
import { exportWorkflow } from "../src/domain/archive/export-workflow";
import { importWorkflow, linesOf } from "../src/domain/archive/import-workflow";
import { purgeWorkflow } from "../src/domain/retention/purge";
import { startWorkflow } from "../src/domain/start-workflow";
import type { Store } from "../src/domain/store";
import { leftOf, NOTHING_LEFT } from "./support/archive";
import { disposeAll, onDispose, testDriver, testStore } from "./support/harness";

/**
 * Export → purge → import of a 100,000-node workflow, through the domain. Prints the peak RSS of
 * this process above its level before each step and the throughput (no timed assertion: the
 * machine is shared).
 */

afterAll(disposeAll);

const SIZE = 100000;

/** Runs `work`, sampling this process's RSS; the peak above the level at the start, in MiB. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakMiB: number; seconds: number }> {
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const began = Date.now();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, peakMiB: Math.round((peak - start) / 2 ** 20), seconds: (Date.now() - began) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

/** Exports to a file; the SHA-256 of every line but the header and end (they hold the export's time). */
async function exportTo(store: Store, workflowId: string, file: string): Promise<string> {
  const out = createWriteStream(file);
  const hash = createHash("sha256");
  let first = true;
  for await (const line of exportWorkflow(store, workflowId)) {
    if (!first && !line.startsWith('{"kind":"end"')) hash.update(line);
    first = false;
    if (!out.write(line)) await once(out, "drain");
  }
  out.end();
  await once(out, "close");
  return hash.digest("hex");
}

it("exports, purges and imports a 100,000-node workflow in bounded memory", async () => {
  const store = testStore({ maxBatchSize: 10000 });
  const dir = await mkdtemp(join(tmpdir(), "archive-100k-"));
  onDispose(() => rm(dir, { recursive: true, force: true }));
  const started = await startWorkflow(store, { name: "archive-100k", systemPrompt: "big" }, ADMIN_SCOPE, ANONYMOUS_SUB);
  const workflowId = started.workflowId;
  let parent = started.root.id;
  for (let done = 0; done < SIZE; done += 10000) {
    const batch: AppendNodeInput[] = [];
    for (let k = 0; k < 10000; k++) {
      const id = randomUUID();
      batch.push({
        id,
        workflowId,
        parentId: k === 0 ? parent : batch[k - 1].id!,
        type: "MESSAGE",
        content: `n${done + k}`,
      });
    }
    await appendNodes(store, batch, ADMIN_SCOPE);
    parent = batch[9999].id!;
  }

  const file = join(dir, "archive.ndjson");
  const exported = await peakRss(() => exportTo(store, workflowId, file));
  const purged = await peakRss(() => purgeWorkflow(store, workflowId));
  expect(purged.result.deleted.nodes).toBe(SIZE + 1);
  expect(await leftOf(testDriver(), workflowId)).toEqual(NOTHING_LEFT);
  const imported = await peakRss(() => importWorkflow(store, linesOf(createReadStream(file))));
  expect(imported.result.counts).toMatchObject({ node: SIZE + 1, edge: SIZE });
  // The imported workflow exports to the same lines.
  expect(await exportTo(store, workflowId, join(dir, "again.ndjson"))).toBe(exported.result);

  const rate = (n: number, s: number) => Math.round(n / s);
  process.stdout.write(
    `archive of ${SIZE} nodes: export ${exported.seconds} s (${rate(SIZE, exported.seconds)} nodes/s, peak RSS +${exported.peakMiB} MiB); ` +
      `purge ${purged.seconds} s (${rate(SIZE, purged.seconds)} nodes/s, +${purged.peakMiB} MiB); ` +
      `import ${imported.seconds} s (${rate(SIZE, imported.seconds)} nodes/s, peak RSS +${imported.peakMiB} MiB)\n`,
  );
  await purgeWorkflow(store, workflowId);
}, 1200000);
