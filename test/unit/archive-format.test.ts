import neo4j from "neo4j-driver";
import { decodeProperties, encodeProperties } from "../../src/domain/archive/archive-format";
import { thrown } from "../support/thrown";

describe("archive property encoding", () => {
  it("keeps integers plain, tags floats and temporal values, and decodes them to the same types", () => {
    const at = new neo4j.types.DateTime(2026, 11, 29, 10, 26, 30, 123456789, 0);
    const encoded = encodeProperties(
      { seq: 7, score: 1, ratios: [0.5, 2], at, tags: ["a", "b"], done: true, name: "x" },
      ["score", "ratios"],
    );
    expect(encoded).toEqual({
      at: { $datetime: [2026, 11, 29, 10, 26, 30, 123456789], offset: 0, zone: null },
      done: true,
      name: "x",
      ratios: { $float: [0.5, 2] },
      score: { $float: 1 },
      seq: 7,
      tags: ["a", "b"],
    });
    // Through JSON, as a file carries it.
    const decoded = decodeProperties(JSON.parse(JSON.stringify(encoded)), "p");
    expect(neo4j.isInt(decoded.seq)).toBe(true);
    expect(Number(decoded.seq)).toBe(7);
    expect(decoded.score).toBe(1);
    expect(decoded.ratios).toEqual([0.5, 2]);
    expect(neo4j.isDateTime(decoded.at)).toBe(true);
    expect(decoded.at!.toString()).toBe(at.toString());
    expect(decoded).toMatchObject({ done: true, name: "x", tags: ["a", "b"] });
  });

  it("refuses values no export writes", () => {
    expect(thrown(() => decodeProperties({ n: 1.5 }, "p")).extensions.code).toBe("BAD_USER_INPUT");
    expect(thrown(() => decodeProperties({ m: { nested: 1 } }, "p")).extensions.code).toBe("BAD_USER_INPUT");
    expect(thrown(() => decodeProperties({ d: { $datetime: [1, 2] } }, "p")).extensions.code).toBe("BAD_USER_INPUT");
    expect(thrown(() => decodeProperties([1], "p")).extensions.code).toBe("BAD_USER_INPUT");
  });
});
