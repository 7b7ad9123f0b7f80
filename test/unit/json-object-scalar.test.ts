import { Kind, parseValue, type ValueNode } from "graphql";
import { JSONObject } from "../../resolvers/scalars";

/** The JSONObject scalar's literals: the same value a variable would carry, built without recursion. */
describe("JSONObject literals", () => {
  it("keeps the literal's values, order and variables, and a __proto__ key as a key", () => {
    const value = JSONObject.parseLiteral(
      parseValue('{b: 1, a: [1, {c: "x", __proto__: $v}, null, true, E], z: 2.5}'),
      { v: { q: 1 } },
    ) as { a: unknown[] };
    expect(JSON.stringify(value)).toBe('{"b":1,"a":[1,{"c":"x","__proto__":{"q":1}},null,true,"E"],"z":2.5}');
    expect(Object.getPrototypeOf(value.a[1])).toBe(Object.prototype);
  });

  it("reads a literal deeper than a recursive reader's stack allows", () => {
    const depth = 100000;
    // Built by hand: graphql-js's own parser is recursive and could not parse this document.
    let ast: ValueNode = { kind: Kind.INT, value: "1" };
    for (let i = 0; i < depth; i++) {
      ast = {
        kind: Kind.OBJECT,
        fields: [{ kind: Kind.OBJECT_FIELD, name: { kind: Kind.NAME, value: "a" }, value: ast }],
      };
    }
    let value = JSONObject.parseLiteral(ast, {}) as { a: unknown } | number;
    let levels = 0;
    while (typeof value === "object") {
      value = value.a as typeof value;
      levels++;
    }
    expect([levels, value]).toEqual([depth, 1]);
  });
});
