import WebSocket from "ws";

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
  const ws = new WebSocket(inspectorUrl);
  await new Promise<void>((resolve, reject) => ws.once("open", () => resolve()).once("error", reject));
  let lastId = 0;
  const pending = new Map<number, (result: any) => void>();
  ws.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<any>((resolve) => {
      const id = ++lastId;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.collectGarbage");
    const reply = await call("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    const usage = JSON.parse(reply.result.value as string) as NodeJS.MemoryUsage;
    return { heapUsedMB: usage.heapUsed / 2 ** 20, externalMB: usage.external / 2 ** 20 };
  } finally {
    ws.close();
  }
}
