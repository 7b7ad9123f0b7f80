import { isSlowSubscriber, slowSubscriber } from "../errors";
import type { WorkflowEventMessage } from "../domain/workflow-event";
import type { EventSource } from "../domain/history/event-log";
import { NO_EVENT_METRICS, type EventMetrics } from "../metrics/recorder";
import type { EventBus, ResyncRound } from "./event-bus";

/** How each event a stream delivered reached it: live from the bus, or read from the log. */
const deliverySources = new WeakMap<WorkflowEventMessage, "live" | "log">();

/**
 * Whether a stream delivered this event live (from the bus) or read it from the log; undefined
 * for events that did not come through a live stream (replay).
 */
export function deliverySourceOf(event: unknown): "live" | "log" | undefined {
  return typeof event === "object" && event !== null ? deliverySources.get(event as WorkflowEventMessage) : undefined;
}

export interface EventStreamOptions {
  workflowId: string;
  /**
   * Resume after this seq: stored events with a greater seq are delivered first, then live ones.
   * Omitted: start with the events committed after the stream opened.
   */
  afterSeq?: number | null;
  /**
   * Most live events held for a consumer that does not keep up. Past it (or past
   * `maxBufferBytes`) the stream ends with a SLOW_SUBSCRIBER error and calls `onOverflow` (the
   * client resumes with afterSeq). Events read from the log while catching up are read at the
   * consumer's pace, at most this many at a time, and never overflow.
   * @default 10000
   */
  maxBuffer?: number;
  /** Most bytes (estimated from contents) held for a consumer. @default 16 MiB */
  maxBufferBytes?: number;
  /** Called once when the buffer overflows, with the SLOW_SUBSCRIBER error (e.g. to close the subscriber's socket). */
  onOverflow?: (error: unknown) => void;
  /** Events read from the log per query while catching up. @default 500 */
  pageSize?: number;
  /** Counts gap fills and slow subscribers. @default records nothing */
  metrics?: EventMetrics;
}

/**
 * A gap-free, duplicate-free, ordered stream of one workflow's events. It listens live first, then
 * catches up from the stored log, so nothing falls between the two; a live event that arrives out
 * of order or after a gap (a publish that never arrived, or arrives late) makes it read the missing
 * events from the log first; events at or below the last delivered seq are dropped. When Redis
 * reconnects, and periodically, it checks the log for events it has not seen.
 */
export async function openEventStream(
  bus: EventBus,
  source: EventSource,
  options: EventStreamOptions,
): Promise<AsyncIterableIterator<WorkflowEventMessage>> {
  const { workflowId } = options;
  const maxBuffer = options.maxBuffer ?? 10000;
  const maxBufferBytes = options.maxBufferBytes ?? 16 * 1024 * 1024;
  let bufferedBytes = 0;
  const pageSize = options.pageSize ?? 500;
  const metrics = options.metrics ?? NO_EVENT_METRICS;
  /** Until the first catch-up is done, events read from the log are the resume, not gap fills. */
  let started = false;
  // A catch-up page fits in the buffer the consumer is allowed.
  const catchUpPage = Math.max(1, Math.min(pageSize, maxBuffer));
  const output: WorkflowEventMessage[] = [];
  const waiting: { resolve: (r: IteratorResult<WorkflowEventMessage>) => void; reject: (e: unknown) => void }[] = [];
  let failure: unknown;
  let closed = false;
  let last = -1;
  /** The highest seq known to exist (from live events or the log's end). */
  let known = -1;
  /** The bookmark of the live event that raised `known`: the log is read with it (bookmarks.ts). */
  let knownBookmark: string | undefined;
  // Work queued before the starting point is known waits behind this gate.
  let release!: () => void;
  let work: Promise<void> = new Promise<void>((resolve) => (release = resolve));

  /** True while the stream reads the log: live events then only raise `known`. */
  let catching = false;
  /** Resolved when the consumer has taken everything buffered (or the stream ended). */
  let drainedWaiters: (() => void)[] = [];
  const drained = () =>
    output.length === 0 || closed ? Promise.resolve() : new Promise<void>((resolve) => drainedWaiters.push(resolve));
  const notifyDrained = () => {
    const waiters = drainedWaiters;
    drainedWaiters = [];
    for (const resolve of waiters) resolve();
  };

  /**
   * Hands an event to the consumer. Only live events count against the bounds: they arrive at the
   * writers' pace, whereas the log is read at the consumer's (see catchUp).
   */
  const deliver = (event: WorkflowEventMessage, live: boolean) => {
    if (event.seq <= last) return;
    last = event.seq;
    deliverySources.set(event, live ? "live" : "log");
    if (!live && started) metrics.gapFilled(1);
    const waiter = waiting.shift();
    if (waiter) return waiter.resolve({ value: event, done: false });
    output.push(event);
    bufferedBytes += sizeOf(event);
    if (live && output.length > maxBuffer) fail(slowSubscriber({ events: maxBuffer }, last));
    else if (live && bufferedBytes > maxBufferBytes) fail(slowSubscriber({ bytes: maxBufferBytes }, last));
  };

  /**
   * Delivers every stored event after `last`, to the log's end and at least up to `known`, one
   * page at a time, each page once the consumer has taken the previous one: however far behind a
   * stream starts (a resume after 100,000 events), it holds at most one page, and a consumer that
   * reads slowly is served slowly rather than cut off. Live events that arrive meanwhile only
   * raise `known` (the log has them), so they do not pile up either. Returns with the buffer empty.
   */
  const catchUp = async () => {
    catching = true;
    try {
      for (;;) {
        await drained();
        if (closed) return;
        const page = await source.read(workflowId, last, undefined, catchUpPage, knownBookmark);
        for (const event of page) deliver(event, false);
        if (page.length < catchUpPage) {
          await drained();
          // An empty page below `known` (a replica behind the leader) is left to the resync.
          if (closed || last >= known || page.length === 0) return;
        }
      }
    } finally {
      catching = false;
    }
  };

  /** Serialises all the stream's work: events are delivered strictly in seq order. */
  const schedule = (task: () => Promise<void>) => {
    work = work.then(task).catch((error) => fail(error));
  };

  const onEvent = (event: WorkflowEventMessage) => {
    if (closed) return;
    if (event.seq > known && event.bookmark) knownBookmark = event.bookmark;
    known = Math.max(known, event.seq);
    if (catching) return;
    schedule(async () => {
      if (event.seq > last + 1) await catchUp();
      // Never past a gap: after a catch-up that did not reach it, the resync will.
      if (event.seq === last + 1) deliver(event, true);
    });
  };

  /** The log's end as the previous periodic round read it. */
  let previousEnd = -1;
  const onResync = (round: ResyncRound) => {
    if (closed || catching) return;
    schedule(async () => {
      const end = await round.once(workflowId, () => source.lastSeq(workflowId));
      // An event committed just before a periodic round is usually still on its way here: reading
      // the log for it would cost a read per subscriber whenever writers are busy, and would serve
      // a live subscriber from the log at its own pace, out of reach of the bounds. What the
      // previous round already saw has had a whole interval to arrive, and is missed.
      const due = round.periodic ? previousEnd : end;
      previousEnd = end;
      known = Math.max(known, due);
      if (known > last) await catchUp();
    });
  };

  const unlisten = await bus.listen({ workflowId, onEvent, onResync });

  function close() {
    if (closed) return;
    closed = true;
    unlisten();
    for (const waiter of waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
    notifyDrained();
  }

  function fail(error: unknown) {
    if (closed) return;
    failure = error;
    if (isSlowSubscriber(error)) {
      const limit = (error as { extensions?: { limit?: unknown } }).extensions?.limit;
      metrics.slowSubscriberClosed(limit === "bytes" ? "bytes" : "events", output.length);
    }
    output.length = 0;
    bufferedBytes = 0;
    if (isSlowSubscriber(error)) options.onOverflow?.(error);
    const waiter = waiting.shift();
    close();
    waiter?.reject(error);
  }

  // Listening is live: now read where to start, then what was stored since; live events that
  // arrived before the catch-up wait behind the gate and are then delivered or dropped as
  // duplicates (those during it only raise `known`).
  void (async () => {
    if (options.afterSeq === undefined || options.afterSeq === null) {
      last = await source.lastSeq(workflowId);
    } else {
      last = options.afterSeq;
      await catchUp();
    }
  })()
    .catch((error) => fail(error))
    .finally(() => {
      started = true;
      release();
    });

  const iterator: AsyncIterableIterator<WorkflowEventMessage> = {
    next() {
      if (output.length > 0) {
        const event = output.shift()!;
        bufferedBytes -= sizeOf(event);
        if (output.length === 0) notifyDrained();
        return Promise.resolve({ value: event, done: false });
      }
      if (failure !== undefined) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (closed) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    async return() {
      close();
      return { value: undefined, done: true };
    },
    async throw(error) {
      close();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** A cheap estimate of an event's size in memory: its texts plus a fixed overhead. */
function sizeOf(event: WorkflowEventMessage): number {
  return 256 + (event.node ? event.node.content.length + (event.node.metadata?.length ?? 0) : 0);
}
