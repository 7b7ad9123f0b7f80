import { createCostGate } from "../../src/server/query-concurrency";

/** Resolves once the pending promise callbacks have run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("per-caller query cost gate", () => {
  it("runs cheap queries side by side and the expensive ones one at a time", async () => {
    const gate = createCostGate({ budget: 100, maxQueued: 10 });
    const cheap = await Promise.all([1, 2, 3].map(() => gate.acquire("a", 10)));
    expect(gate.state("a")).toEqual({ inFlight: 30, waiting: 0 });

    let admitted = false;
    const big = gate.acquire("a", 95).then((release) => {
      admitted = true;
      return release;
    });
    await settle();
    expect(admitted).toBe(false);
    expect(gate.state("a")).toEqual({ inFlight: 30, waiting: 1 });

    cheap[0]!();
    cheap[1]!();
    await settle();
    expect(admitted).toBe(false);
    cheap[2]!();
    await settle();
    expect(admitted).toBe(true);
    expect(gate.state("a")).toEqual({ inFlight: 95, waiting: 0 });
    (await big)!();
    expect(gate.state("a")).toEqual({ inFlight: 0, waiting: 0 });
  });

  it("admits in order, so a large query at the head of the line is not starved by small ones", async () => {
    const gate = createCostGate({ budget: 100, maxQueued: 10 });
    const first = (await gate.acquire("a", 60))!;
    const order: string[] = [];
    const large = gate.acquire("a", 80).then((release) => (order.push("large"), release));
    const small = gate.acquire("a", 10).then((release) => (order.push("small"), release));
    await settle();
    // The small one would fit beside the first, but waits behind the large one.
    expect(order).toEqual([]);
    first();
    await settle();
    expect(order).toEqual(["large", "small"]);
    (await large)!();
    (await small)!();
    expect(gate.state("a")).toEqual({ inFlight: 0, waiting: 0 });
  });

  it("keeps callers apart", async () => {
    const gate = createCostGate({ budget: 100, maxQueued: 10 });
    const a = (await gate.acquire("a", 100))!;
    const b = await Promise.race([gate.acquire("b", 100), settle().then(() => "waited")]);
    expect(typeof b).toBe("function");
    a();
    (b as () => void)();
  });

  it("runs a query costing more than the budget alone, and refuses past the line's length", async () => {
    const gate = createCostGate({ budget: 50, maxQueued: 1 });
    const huge = (await gate.acquire("a", 500))!;
    expect(gate.state("a").inFlight).toBe(500);
    const queued = gate.acquire("a", 1);
    expect(await gate.acquire("a", 1)).toBeUndefined();
    huge();
    const release = await queued;
    expect(gate.state("a")).toEqual({ inFlight: 1, waiting: 0 });
    release!();
    release!();
    expect(gate.state("a")).toEqual({ inFlight: 0, waiting: 0 });
  });

  it("lets everything through when the budget is 0", async () => {
    const gate = createCostGate({ budget: 0, maxQueued: 0 });
    const releases = await Promise.all(Array.from({ length: 5 }, () => gate.acquire("a", 1_000_000)));
    expect(releases.every((r) => typeof r === "function")).toBe(true);
  });
});
