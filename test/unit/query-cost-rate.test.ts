import { ConfigError, DEFAULT_QUERY_COST_PER_MINUTE, loadConfig } from "../../src/config";
import { createLogger } from "../../src/logger";
import { createQueryCostRate, takeFromBucket, type Bucket } from "../../src/server/query-cost-rate";

/** 600 units a minute: 10 a second, 0.01 a millisecond; at most 100 at once. */
const SHAPE = { perMinute: 600, burst: 100 };

describe("takeFromBucket", () => {
  it("starts a new caller with a full bucket and takes the cost from it", () => {
    const { bucket, decision } = takeFromBucket(undefined, 1000, 30, SHAPE);
    expect(decision).toEqual({ allowed: true });
    expect(bucket).toEqual({ tokens: 70, at: 1000 });
  });

  it("refuses a cost over what the bucket holds, takes nothing, and says when it will fit", () => {
    const held: Bucket = { tokens: 5, at: 1000 };
    const { bucket, decision } = takeFromBucket(held, 1000, 30, SHAPE);
    // 25 units missing at 10 a second: 2.5 s, rounded up.
    expect(decision).toEqual({ allowed: false, retryAfterSeconds: 3 });
    expect(bucket).toEqual({ tokens: 5, at: 1000 });
  });

  it("refills at the rate over time, up to the burst and no further", () => {
    const empty: Bucket = { tokens: 0, at: 0 };
    expect(takeFromBucket(empty, 2000, 0, SHAPE).bucket.tokens).toBeCloseTo(20);
    expect(takeFromBucket(empty, 2000, 21, SHAPE).decision.allowed).toBe(false);
    expect(takeFromBucket(empty, 2000, 20, SHAPE).decision.allowed).toBe(true);
    expect(takeFromBucket(empty, 3600000, 0, SHAPE).bucket.tokens).toBe(100);
  });

  it("charges a cost over the burst as a full bucket, so that it can run at all", () => {
    expect(takeFromBucket(undefined, 0, 1000, SHAPE)).toEqual({
      bucket: { tokens: 0, at: 0 },
      decision: { allowed: true },
    });
    expect(takeFromBucket({ tokens: 99, at: 0 }, 0, 1000, SHAPE).decision).toEqual({
      allowed: false,
      retryAfterSeconds: 1,
    });
  });

  it("bounds what a caller sending back to back spends in a minute to the burst plus the rate", () => {
    let bucket: Bucket | undefined;
    let spent = 0;
    for (let now = 0; now < 60000; now += 10) {
      const taken = takeFromBucket(bucket, now, 7, SHAPE);
      bucket = taken.bucket;
      if (taken.decision.allowed) spent += 7;
    }
    expect(spent).toBeGreaterThan(SHAPE.burst + SHAPE.perMinute - 14);
    expect(spent).toBeLessThanOrEqual(SHAPE.burst + SHAPE.perMinute);
  });
});

describe("createQueryCostRate without Redis", () => {
  const logger = createLogger("silent");

  it("keeps one bucket per key: one caller over the rate does not hold up another", async () => {
    let now = 0;
    const rate = createQueryCostRate({ ...SHAPE, logger, now: () => now });
    expect(await rate.take("sub:ana", 100)).toEqual({ allowed: true });
    expect(await rate.take("sub:ana", 10)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(await rate.take("sub:ben", 100)).toEqual({ allowed: true });
    now = 1000;
    expect(await rate.take("sub:ana", 10)).toEqual({ allowed: true });
  });

  it("lets everything through when the rate is 0", async () => {
    const rate = createQueryCostRate({ perMinute: 0, burst: 1, logger });
    for (let i = 0; i < 10; i++) expect(await rate.take("sub:ana", 1e9)).toEqual({ allowed: true });
  });
});

describe("QUERY_COST_PER_MINUTE_PER_CALLER and QUERY_COST_BURST_PER_CALLER", () => {
  const SECRET = { AUTH_JWT_SECRET: "x".repeat(32) };

  it("is on by default with authentication on, and off with it off", () => {
    expect(loadConfig(SECRET).queryLimits).toMatchObject({
      costPerMinutePerCaller: DEFAULT_QUERY_COST_PER_MINUTE,
      costBurstPerCaller: 100000,
    });
    expect(loadConfig({}).queryLimits.costPerMinutePerCaller).toBe(0);
    expect(loadConfig({ AUTH_DISABLED: "true", HOST: "0.0.0.0" }).queryLimits.costPerMinutePerCaller).toBe(0);
  });

  it("takes the values given, the burst following QUERY_MAX_COMPLEXITY by default", () => {
    expect(
      loadConfig({ QUERY_COST_PER_MINUTE_PER_CALLER: "5000", QUERY_MAX_COMPLEXITY: "2000" }).queryLimits,
    ).toMatchObject({ costPerMinutePerCaller: 5000, costBurstPerCaller: 2000 });
    expect(
      loadConfig({ ...SECRET, QUERY_COST_PER_MINUTE_PER_CALLER: "0", QUERY_COST_BURST_PER_CALLER: "300000" })
        .queryLimits,
    ).toMatchObject({ costPerMinutePerCaller: 0, costBurstPerCaller: 300000 });
  });

  it.each([
    ["QUERY_COST_PER_MINUTE_PER_CALLER", "-5"],
    ["QUERY_COST_PER_MINUTE_PER_CALLER", "lots"],
    ["QUERY_COST_BURST_PER_CALLER", "0"],
    ["QUERY_COST_BURST_PER_CALLER", "99999"],
  ])("rejects %s=%s with a ConfigError naming it", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
