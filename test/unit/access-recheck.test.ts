import { createAccessRecheck } from "../../src/live/end-when-revoked";

/** A source that yields nothing until ended (a quiet workflow), and records that it was ended. */
function quietSource() {
  const state = { returned: false };
  const source: AsyncIterableIterator<number> = {
    next: () => new Promise(() => undefined),
    async return() {
      state.returned = true;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => source,
  };
  return { source, state };
}

describe("createAccessRecheck", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("reads a workflow's grants once per interval for all of its subscribers, and ends those no longer allowed", async () => {
    const reads: string[] = [];
    let allowed = new Set(["ana", "ben", "cy"]);
    const recheck = createAccessRecheck(async (workflowId: string) => {
      reads.push(workflowId);
      return new Set(allowed);
    }, 1000);
    const subscribers = ["ana", "ben", "cy"].map((who) => {
      const { source, state } = quietSource();
      const stream = recheck.endWhenRevoked(source, "w1", (grants) => grants.has(who));
      return { who, stream, state };
    });
    const other = quietSource();
    recheck.endWhenRevoked(other.source, "w2", () => true);
    expect(recheck.watched).toBe(2);

    await jest.advanceTimersByTimeAsync(1000);
    expect(reads.sort()).toEqual(["w1", "w2"]);
    expect(subscribers.map((s) => s.state.returned)).toEqual([false, false, false]);

    allowed = new Set(["ana", "cy"]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(reads).toHaveLength(4);
    expect(subscribers.map((s) => s.state.returned)).toEqual([false, true, false]);
    await expect(subscribers[1].stream.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it("keeps streams open when a read fails, and stops reading once the last stream of a workflow ends", async () => {
    let fail = true;
    let reads = 0;
    const recheck = createAccessRecheck(async () => {
      reads += 1;
      if (fail) throw new Error("Neo4j unreachable");
      return false;
    }, 1000);
    const { source, state } = quietSource();
    const stream = recheck.endWhenRevoked(source, "w1", (grants) => grants);
    await jest.advanceTimersByTimeAsync(3000);
    expect(reads).toBe(3);
    expect(state.returned).toBe(false);

    fail = false;
    await jest.advanceTimersByTimeAsync(1000);
    expect(state.returned).toBe(true);
    expect(recheck.watched).toBe(0);
    await jest.advanceTimersByTimeAsync(5000);
    expect(reads).toBe(4);
    await expect(stream.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it("stops watching when the client ends the stream", async () => {
    const recheck = createAccessRecheck(async () => true, 1000);
    const { source, state } = quietSource();
    const stream = recheck.endWhenRevoked(source, "w1", (grants) => grants);
    expect(recheck.watched).toBe(1);
    await stream.return!();
    expect(state.returned).toBe(true);
    expect(recheck.watched).toBe(0);
  });
});
