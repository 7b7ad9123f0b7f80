import type { WorkflowEventMessage } from "../../src/domain/workflow-event";
import { endOnDelete } from "../../src/live/end-on-delete";

/** A live stream's end on WORKFLOW_DELETED, driven by a source held in an array. */

type Kind = WorkflowEventMessage["kind"];
const event = (seq: number, kind: Kind = "NODE_ADDED") => ({ seq, kind });

/** A source that yields `events` and then waits forever (a live stream), recording whether it was closed. */
function source(events: { seq: number; kind: Kind }[]) {
  const state = { closed: false };
  let i = 0;
  const iterator: AsyncIterableIterator<{ seq: number; kind: Kind }> = {
    next: () =>
      i < events.length ? Promise.resolve({ value: events[i++], done: false }) : new Promise(() => undefined),
    return: async () => {
      state.closed = true;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return { iterator, state };
}

async function take<T>(iterator: AsyncIterableIterator<T>, count: number) {
  const out: IteratorResult<T>[] = [];
  for (let n = 0; n < count; n++) out.push(await iterator.next());
  return out;
}

describe("endOnDelete", () => {
  it("delivers the WORKFLOW_DELETED in force, then completes and closes the source", async () => {
    const { iterator, state } = source([event(4), event(5, "WORKFLOW_DELETED"), event(6)]);
    const asked: number[] = [];
    const stream = endOnDelete(iterator, async (seq) => (asked.push(seq), seq === 5));
    const results = await take(stream, 3);
    expect(results.map((r) => (r.done ? "done" : r.value.seq))).toEqual([4, 5, "done"]);
    expect(state.closed).toBe(true);
    expect(asked).toEqual([5]);
  });

  it("passes over a deletion that a restore undid", async () => {
    const { iterator, state } = source([
      event(1, "WORKFLOW_DELETED"),
      event(2, "WORKFLOW_RESTORED"),
      event(3),
      event(4, "WORKFLOW_DELETED"),
    ]);
    const stream = endOnDelete(iterator, async (seq) => seq === 4);
    const results = await take(stream, 5);
    expect(results.map((r) => (r.done ? "done" : r.value.seq))).toEqual([1, 2, 3, 4, "done"]);
    expect(state.closed).toBe(true);
  });

  it("closes the source when the consumer leaves first", async () => {
    const { iterator, state } = source([event(1)]);
    const stream = endOnDelete(iterator, async () => true);
    await stream.next();
    await stream.return!();
    expect(state.closed).toBe(true);
    expect((await stream.next()).done).toBe(true);
  });
});
