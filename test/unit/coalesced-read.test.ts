import { createCoalescedRead } from "../../src/domain/coalesced-read";

/** A read whose answers the test gives, one by one, recording when each started. */
function manualRead() {
  const started: { key: string; answer: (value: number) => void; fail: (error: Error) => void }[] = [];
  const read = (key: string) =>
    new Promise<number>((resolve, reject) => started.push({ key, answer: resolve, fail: reject }));
  return { started, read };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("coalesced reads", () => {
  it("give callers who ask while a read runs one read started after it, never the older answer", async () => {
    const { started, read } = manualRead();
    const coalesced = createCoalescedRead(read);
    const first = coalesced("w");
    const second = coalesced("w");
    const third = coalesced("w");
    expect(started).toHaveLength(1);
    started[0].answer(1);
    expect(await first).toBe(1);
    await tick();
    // The second and third asked after the first read began: they share a new one.
    expect(started).toHaveLength(2);
    started[1].answer(2);
    expect([await second, await third]).toEqual([2, 2]);
    // Nothing running: the next caller starts its own.
    const fourth = coalesced("w");
    expect(started).toHaveLength(3);
    started[2].answer(3);
    expect(await fourth).toBe(3);
  });

  it("keeps keys apart, and a failed read fails only its own callers", async () => {
    const { started, read } = manualRead();
    const coalesced = createCoalescedRead(read);
    const a = coalesced("a");
    const b = coalesced("b");
    expect(started.map((s) => s.key)).toEqual(["a", "b"]);
    const waiting = coalesced("a");
    started[0].fail(new Error("outage"));
    await expect(a).rejects.toThrow("outage");
    await tick();
    started[2].answer(7);
    started[1].answer(8);
    expect([await waiting, await b]).toEqual([7, 8]);
  });
});
