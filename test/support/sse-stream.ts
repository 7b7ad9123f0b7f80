import { eventually } from "./harness";

/** An SSE response read as an EventSource would: each `event:`/`data:` block, parsed. */
export interface EventStream {
  status: number;
  headers: Headers;
  events: { event: string; data: any }[];
  /** Resolves once `count` events arrived. */
  until(count: number): Promise<void>;
  close(): void;
}

/** Opens a stream with fetch, as a browser's EventSource does (GET, Accept: text/event-stream). */
export async function openEventStream(
  url: string,
  init: RequestInit,
  onDispose: (dispose: () => void) => void,
): Promise<EventStream> {
  const abort = new AbortController();
  onDispose(() => abort.abort());
  const res = await fetch(url, {
    ...init,
    headers: { accept: "text/event-stream", ...(init.headers ?? {}) },
    signal: abort.signal,
  });
  const events: { event: string; data: any }[] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) return;
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join("\n");
          if (event) events.push({ event, data: data ? JSON.parse(data) : null });
          waiters.splice(0).forEach((wake) => wake());
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    events,
    until: (count) => eventually(() => events.length >= count),
    close: () => abort.abort(),
  };
}
