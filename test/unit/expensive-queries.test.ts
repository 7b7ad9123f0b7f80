import { withExpensiveQueryCap } from "../../src/server/expensive-queries";
import { createCostGate } from "../../src/server/query-concurrency";

const perCaller = () => createCostGate({ budget: 100000, maxQueued: 16 });

describe("withExpensiveQueryCap", () => {
  it("runs one expensive query at a time across callers, while cheap ones pass", async () => {
    const gate = withExpensiveQueryCap(perCaller(), { threshold: 5000, inFlight: 1, maxQueued: 10 });
    const ana = await gate.acquire("sub:ana", 40000);
    expect(ana).toBeDefined();
    let bensRan = false;
    const ben = gate.acquire("sub:ben", 6000).then((release) => {
      bensRan = true;
      return release;
    });
    // A cheap query of a third caller is not held up by the expensive one waiting.
    const cheap = await gate.acquire("sub:cy", 4999);
    expect(cheap).toBeDefined();
    cheap!();
    await Promise.resolve();
    expect(bensRan).toBe(false);
    ana!();
    const release = await ben;
    expect(bensRan).toBe(true);
    release!();
    expect(gate.state("sub:ana")).toEqual({ inFlight: 0, waiting: 0 });
    expect(gate.state("sub:ben")).toEqual({ inFlight: 0, waiting: 0 });
  });

  it("refuses past its line and gives the caller's room back", async () => {
    const gate = withExpensiveQueryCap(perCaller(), { threshold: 5000, inFlight: 1, maxQueued: 1 });
    const first = await gate.acquire("sub:ana", 5000);
    const waiting = gate.acquire("sub:ben", 5000);
    expect(await gate.acquire("sub:cy", 5000)).toBeUndefined();
    expect(gate.state("sub:cy")).toEqual({ inFlight: 0, waiting: 0 });
    first!();
    (await waiting)!();
  });

  it("lets N expensive queries run at once with inFlight N, and is the plain gate with 0", async () => {
    const two = withExpensiveQueryCap(perCaller(), { threshold: 5000, inFlight: 2, maxQueued: 10 });
    const a = await two.acquire("sub:ana", 9000);
    const b = await two.acquire("sub:ben", 9000);
    expect(a && b).toBeDefined();
    a!();
    b!();
    const plain = perCaller();
    expect(withExpensiveQueryCap(plain, { threshold: 5000, inFlight: 0, maxQueued: 10 })).toBe(plain);
  });
});
