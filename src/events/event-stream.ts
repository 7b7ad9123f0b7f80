import { GraphQLError } from "graphql";
import type { WorkflowEventMessage } from "./workflow-event";
import type { EventBus } from "./event-bus";

/** Where a stream reads what it missed: the stored event log (Neo4j). */
export interface EventSource {
  /** Stored events with `afterSeq < seq <= toSeq`, in seq order, at most `limit`. */
  read(workflowId: string, afterSeq: number, toSeq: number | undefined, limit: number): Promise<WorkflowEventMessage[]>;
  /** The workflow's newest seq. */
  lastSeq(workflowId: string): Promise<number>;
}

export interface EventStreamOptions {
  workflowId: string;
  /**
   * Resume after this seq: stored events with a greater seq are delivered first, then live ones.
   * Omitted: start with the events committed after the stream opened.
   */
  afterSeq?: number | null;
  /**
   * Most events held for a consumer that does not keep up. Past it (or past `maxBufferBytes`) the
   * stream ends with a SLOW_SUBSCRIBER error and calls `onOverflow` (the client resumes with
   * afterSeq).
   * @default 10000
   */
  maxBuffer?: number;
  /** Most bytes (estimated from contents) held for a consumer. @default 16 MiB */
  maxBufferBytes?: number;
  /** Called once when the buffer overflows (e.g. to close the subscriber's socket). */
  onOverflow?: () => void;
  /** Events read from the log per query while catching up. @default 500 */
  pageSize?: number;
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
  const output: WorkflowEventMessage[] = [];
  const waiting: { resolve: (r: IteratorResult<WorkflowEventMessage>) => void; reject: (e: unknown) => void }[] = [];
  let failure: unknown;
  let closed = false;
  let last = -1;
  /** The highest seq known to exist (from live events or the log's end). */
  let known = -1;
  // Work queued before the starting point is known waits behind this gate.
  let release!: () => void;
  let work: Promise<void> = new Promise<void>((resolve) => (release = resolve));

  const deliver = (event: WorkflowEventMessage) => {
    if (event.seq <= last) return;
    last = event.seq;
    const waiter = waiting.shift();
    if (waiter) return waiter.resolve({ value: event, done: false });
    output.push(event);
    bufferedBytes += sizeOf(event);
    if (output.length > maxBuffer || bufferedBytes > maxBufferBytes) {
      fail(
        new GraphQLError(`Subscriber fell more than ${maxBuffer} events behind; resubscribe with afterSeq`, {
          extensions: { code: "SLOW_SUBSCRIBER", lastSeq: last },
        }),
      );
    }
  };

  /** Delivers every stored event after `last` up to `known` (or to the log's end). */
  const catchUp = async () => {
    for (;;) {
      if (closed) return;
      const page = await source.read(workflowId, last, undefined, pageSize);
      for (const event of page) deliver(event);
      if (page.length < pageSize) return;
    }
  };

  /** Serialises all the stream's work: events are delivered strictly in seq order. */
  const schedule = (task: () => Promise<void>) => {
    work = work.then(task).catch((error) => fail(error));
  };

  const onEvent = (event: WorkflowEventMessage) => {
    if (closed) return;
    known = Math.max(known, event.seq);
    schedule(async () => {
      if (event.seq <= last) return;
      if (event.seq > last + 1) await catchUp();
      deliver(event);
    });
  };

  const onResync = () => {
    if (closed) return;
    schedule(async () => {
      known = Math.max(known, await source.lastSeq(workflowId));
      if (known > last) await catchUp();
    });
  };

  const unlisten = await bus.listen({ workflowId, onEvent, onResync });

  function close() {
    if (closed) return;
    closed = true;
    unlisten();
    for (const waiter of waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  function fail(error: unknown) {
    if (closed) return;
    failure = error;
    output.length = 0;
    bufferedBytes = 0;
    if ((error as { extensions?: { code?: unknown } }).extensions?.code === "SLOW_SUBSCRIBER") options.onOverflow?.();
    const waiter = waiting.shift();
    close();
    waiter?.reject(error);
  }

  // Listening is live: now read where to start, then what was stored since; live events that
  // arrived meanwhile wait behind the gate and are then delivered or dropped as duplicates.
  void (async () => {
    if (options.afterSeq === undefined || options.afterSeq === null) {
      last = await source.lastSeq(workflowId);
    } else {
      last = options.afterSeq;
      await catchUp();
    }
  })()
    .catch((error) => fail(error))
    .finally(release);

  const iterator: AsyncIterableIterator<WorkflowEventMessage> = {
    next() {
      if (output.length > 0) {
        const event = output.shift()!;
        bufferedBytes -= sizeOf(event);
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
