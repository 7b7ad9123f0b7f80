import { describe, expect, it } from "@jest/globals";
import { describeError, describeStreamError, isRetryableStreamError } from "../../src/web/viewer/errors";

describe("viewer errors", () => {
  it("turns an API code into advice, keeping the server's message", () => {
    const error = describeError({ message: "Missing token", extensions: { code: "UNAUTHENTICATED" } });
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(error.message).toMatch(/token field.*Missing token/);
    expect(
      describeError({ message: "slow down", extensions: { code: "RATE_LIMITED", retryAfterSeconds: 7 } }).message,
    ).toMatch(/Retry in 7 s/);
    expect(describeError({ message: "odd" })).toEqual({ code: "ERROR", message: "odd" });
  });

  it("reads graphql-ws errors: error messages, close codes, and which ones are worth retrying", () => {
    const refused = describeStreamError([{ message: "no such workflow", extensions: { code: "NOT_FOUND" } }]);
    expect(refused.code).toBe("NOT_FOUND");
    expect(isRetryableStreamError(refused)).toBe(false);
    const badToken = describeStreamError({ code: 4401, reason: "Token expired" });
    expect(badToken).toMatchObject({ code: "UNAUTHENTICATED" });
    expect(badToken.message).toMatch(/Token expired/);
    expect(isRetryableStreamError(badToken)).toBe(false);
    const slow = describeStreamError({ code: 4429, reason: "too slow: events" });
    expect(slow.code).toBe("CLOSE_4429");
    expect(isRetryableStreamError(slow)).toBe(true);
  });
});
