import { openInspector } from "./inspector";

/** The memory of a process run with `--inspect`, read after a full garbage collection. */
export interface MemoryReading {
  /** V8 heap in use, MB. */
  heapUsedMB: number;
  /** Buffers and other memory outside the heap that V8 accounts for, MB. */
  externalMB: number;
}

/**
 * Collects garbage in the process behind `inspectorUrl` (its DevTools WebSocket URL), twice, and
 * reads `process.memoryUsage()` there: what the process holds, without garbage that a later
 * collection would free. (Its RSS is read from /proc by the caller, right after.)
 */
export async function readMemoryAfterGc(inspectorUrl: string): Promise<MemoryReading> {
  const inspector = await openInspector(inspectorUrl);
  try {
    await inspector.call("HeapProfiler.collectGarbage");
    await inspector.call("HeapProfiler.collectGarbage");
    const reply = await inspector.call("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    const usage = JSON.parse(reply.result.value as string) as NodeJS.MemoryUsage;
    return { heapUsedMB: usage.heapUsed / 2 ** 20, externalMB: usage.external / 2 ** 20 };
  } finally {
    inspector.close();
  }
}
