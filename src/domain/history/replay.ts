import { setTimeout as sleep } from "node:timers/promises";
import type { EventSource } from "./event-log";
import type { WorkflowEventMessage } from "../workflow-event";

export interface ReplayOptions {
  workflowId: string;
  fromSeq: number;
  toSeq: number;
  /** Time gaps are divided by it; 0 plays as fast as possible. */
  speed: number;
  /** No single wait is longer than this. @default no bound */
  maxGapMs?: number | null;
  /** Events read per query. @default 500 */
  pageSize?: number;
}

/** Stored events from `fromSeq` to `toSeq` in seq order, spaced by their original time gaps / speed. */
export async function* replayEvents(
  source: EventSource,
  options: ReplayOptions,
  signal?: AbortSignal,
): AsyncGenerator<WorkflowEventMessage> {
  const pageSize = options.pageSize ?? 500;
  let after = options.fromSeq - 1;
  let previousAt: number | undefined;
  for (;;) {
    const page = await source.read(options.workflowId, after, options.toSeq, pageSize);
    for (const event of page) {
      const at = Date.parse(event.at);
      if (options.speed > 0 && previousAt !== undefined && at > previousAt) {
        const gap = (at - previousAt) / options.speed;
        const wait = options.maxGapMs != null ? Math.min(gap, options.maxGapMs) : gap;
        if (wait >= 1) await sleep(wait, undefined, { signal });
      }
      previousAt = at;
      after = event.seq;
      yield event;
    }
    if (page.length < pageSize) return;
  }
}
