import { bucketStarts, MAX_BUCKETS } from "../../src/domain/analytics/series";
import { thrown } from "../support/thrown";

describe("analytics buckets", () => {
  it("starts at the start of from's hour or day (UTC) and ends before to", () => {
    const hours = bucketStarts("2026-11-29T10:20:00Z", "2026-11-29T13:00:00Z", "HOUR").map((t) =>
      new Date(t).toISOString(),
    );
    expect(hours).toEqual(["2026-11-29T10:00:00.000Z", "2026-11-29T11:00:00.000Z", "2026-11-29T12:00:00.000Z"]);
    const days = bucketStarts("2026-11-28T23:59:00Z", "2026-11-30T00:00:01Z", "DAY").map((t) =>
      new Date(t).toISOString(),
    );
    expect(days).toEqual(["2026-11-28T00:00:00.000Z", "2026-11-29T00:00:00.000Z", "2026-11-30T00:00:00.000Z"]);
  });

  it("answers BAD_USER_INPUT for an empty range and for more than the limit of buckets", () => {
    expect(thrown(() => bucketStarts("2026-11-29T10:00:00Z", "2026-11-29T10:00:00Z", "HOUR")).extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "to",
    });
    const to = new Date(Date.parse("2026-01-01T00:00:00Z") + MAX_BUCKETS * 3_600_000).toISOString();
    expect(bucketStarts("2026-01-01T00:00:00Z", to, "HOUR")).toHaveLength(MAX_BUCKETS);
    const over = new Date(Date.parse(to) + 1).toISOString();
    expect(thrown(() => bucketStarts("2026-01-01T00:00:00Z", over, "HOUR")).extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "to",
      limit: MAX_BUCKETS,
    });
  });
});
