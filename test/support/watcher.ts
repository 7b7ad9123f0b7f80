import { createWorkflowClient, type ClientEvent } from "../../src/client/workflow-client";
import { eventually, onDispose } from "./harness";

/** [from, from + 1, …, to]. */
export const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** A typed client (src/client) subscribed to one workflow, recording what it delivers. */
export interface Watcher {
  seqs: number[];
  events: ClientEvent[];
  errors: unknown[];
  stop(): void;
}

/**
 * Subscribes a typed client to `workflowId` from `afterSeq` (from now when undefined), through
 * `url` (several: it rotates on reconnect). The client is closed by `disposeAll`.
 */
export function watch(url: string | string[], workflowId: string, afterSeq?: number, minBackoffMs = 50): Watcher {
  const client = createWorkflowClient({ url, minBackoffMs, maxBackoffMs: Math.max(1000, minBackoffMs) });
  onDispose(() => client.close());
  const watcher: Watcher = { seqs: [], events: [], errors: [], stop: () => undefined };
  watcher.stop = client.subscribe(workflowId, {
    afterSeq,
    onEvent(event) {
      watcher.seqs.push(event.seq);
      watcher.events.push(event);
    },
    onError: (error) => watcher.errors.push(error),
  });
  return watcher;
}

/** Waits until the watcher delivered `count` events, with a message saying what it has. */
export async function delivered(watcher: Watcher, count: number, timeoutMs = 20000): Promise<void> {
  await eventually(() => watcher.seqs.length >= count, timeoutMs).catch(() => {
    throw new Error(
      `expected ${count} events, got ${watcher.seqs.length}: ${JSON.stringify(watcher.seqs)}; errors: ${JSON.stringify(watcher.errors)}`,
    );
  });
}
