import { checkContent, checkNotBlank, idOrNew, metadataText, normalizeId } from "../../src/domain/validation";
import { thrown } from "../support/thrown";

const UPPER = "0F8FAD5B-D9CB-469F-A165-70867728950E";

describe("ids", () => {
  it("keeps a client's UUID in lower case, and makes a new one when none is given", () => {
    expect(idOrNew(UPPER, "input.id")).toBe(UPPER.toLowerCase());
    const made = [idOrNew(null, "input.id"), idOrNew(undefined, "input.id")];
    for (const id of made) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(made[0]).not.toBe(made[1]);
  });

  it("answers BAD_USER_INPUT naming the field for an id that is not a UUID", () => {
    const error = thrown(() => idOrNew("node-1", "input.options[0].id"));
    expect(error.message).toBe('input.options[0].id must be a UUID, got "node-1"');
    expect(error.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.options[0].id" });
  });

  it("lower-cases UUIDs to look them up, and leaves other ids as they are (they are then not found)", () => {
    expect(normalizeId(UPPER)).toBe(UPPER.toLowerCase());
    expect(normalizeId("Not-A-UUID")).toBe("Not-A-UUID");
  });
});

describe("content", () => {
  it("counts the limit in UTF-8 bytes, not characters", () => {
    expect(() => checkContent("é".repeat(5), 10, "input.content")).not.toThrow();
    const error = thrown(() => checkContent("é".repeat(6), 10, "input.content"));
    expect(error.message).toBe("input.content is 12 bytes; the limit is 10");
    expect(error.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.content", limit: 10 });
  });

  it("rejects blank required text", () => {
    expect(() => checkNotBlank("x", "input.parentId")).not.toThrow();
    expect(thrown(() => checkNotBlank(" \t\n", "input.parentId")).extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.parentId",
    });
  });
});

describe("metadataText", () => {
  it("stores metadata as JSON with keys sorted at every depth, so a retry in another key order compares equal", () => {
    const a = metadataText({ b: 1, a: { y: [{ d: 1, c: 2 }], x: null } });
    const b = metadataText({ a: { x: null, y: [{ c: 2, d: 1 }] }, b: 1 });
    expect(a).toBe('{"a":{"x":null,"y":[{"c":2,"d":1}]},"b":1}');
    expect(b).toBe(a);
  });

  it("stores no metadata as null", () => {
    expect(metadataText(null)).toBeNull();
    expect(metadataText(undefined)).toBeNull();
  });
});
