import WebSocket from "ws";

/** A DevTools protocol session with a process run with `--inspect`. */
export interface InspectorSession {
  /** Sends a command and resolves with its result. */
  call(method: string, params?: object): Promise<any>;
  /** Calls `listener` with the params of each `method` notification. */
  on(method: string, listener: (params: any) => void): void;
  close(): void;
}

/** Opens a session on the inspector behind `inspectorUrl` (its DevTools WebSocket URL). */
export async function openInspector(inspectorUrl: string): Promise<InspectorSession> {
  // A heap snapshot arrives in chunks well under this; the default (100 MiB) would do too.
  const ws = new WebSocket(inspectorUrl, { maxPayload: 2 ** 30 });
  await new Promise<void>((resolve, reject) => ws.once("open", () => resolve()).once("error", reject));
  let lastId = 0;
  const pending = new Map<number, (result: any) => void>();
  const listeners = new Map<string, ((params: any) => void)[]>();
  ws.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; method?: string; params?: unknown };
    if (message.id !== undefined) {
      pending.get(message.id)?.(message.result);
      pending.delete(message.id);
    } else if (message.method) {
      for (const listener of listeners.get(message.method) ?? []) listener(message.params);
    }
  });
  return {
    call: (method, params = {}) =>
      new Promise<any>((resolve) => {
        const id = ++lastId;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    on(method, listener) {
      listeners.set(method, [...(listeners.get(method) ?? []), listener]);
    },
    close: () => ws.close(),
  };
}
