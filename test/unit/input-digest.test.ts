import { canonicalJson, canonicalJsonByParts, inputDigest } from "../../src/domain/audit";

/** An input as graphql-js coerces it: input objects have no prototype. */
const coerced = (fields: Record<string, unknown>) => Object.assign(Object.create(null) as object, fields);

describe("the canonical JSON an audit entry's input digest is taken of", () => {
  const cases: [string, unknown][] = [
    [
      "a plain append",
      { workflowId: "w", parentId: "p", type: "MESSAGE", content: "hi", metadata: { b: 1, a: [1, 2] } },
    ],
    ["keys in any order, nested", { z: { y: 1, x: { d: [{ c: 1, b: 2 }], a: null } }, a: "é😀" }],
    ["undefined members left out, undefined in a list as null", { a: undefined, b: [undefined, 1], c: null }],
    ["integer-like keys (objects list them first)", { b: 1, 10: "ten", 9: "nine", a: { 2: "x", 1: "y", "01": "z" } }],
    ["a coerced input without a prototype", coerced({ workflowId: "w", metadata: coerced({ b: 2, a: 1 }) })],
    ["a list of inputs", [coerced({ id: "2", content: "x".repeat(1000) }), coerced({ content: "y", id: "1" })]],
    ["a value that serialises itself", { at: new Date(0), b: 1 }],
    ["strings, numbers and booleans", { s: 'quote " and \\ and \n', n: 1.5e-7, t: true, f: false }],
    ["nothing", undefined],
    ["a bare string", "content"],
  ];
  it.each(cases)("is the reference serialisation for %s", (_name, value) => {
    expect(canonicalJson(value)).toBe(canonicalJsonByParts(value));
  });

  it("sorts keys at every level, whatever order the client sent them in", () => {
    expect(canonicalJson({ b: { d: 1, c: 2 }, a: [{ f: 1, e: 2 }] })).toBe('{"a":[{"e":2,"f":1}],"b":{"c":2,"d":1}}');
    expect(inputDigest({ b: 1, a: 2 })).toBe(inputDigest({ a: 2, b: 1 }));
    expect(inputDigest({ a: 1 })).not.toBe(inputDigest({ a: 2 }));
  });
});
