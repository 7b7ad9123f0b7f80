import { GraphQLError, parse } from "graphql";
import { createCheckedOperations } from "../../src/server/checked-operations";

const SUBSCRIPTION = "subscription S($id: ID!) { nodeAdded(workflowId: $id) { id } }";
const QUERY = "query Q { workflows { id } }";

/** A check that parses anew each time, as the pipeline's does, and counts its calls. */
function countingCheck() {
  const calls = { count: 0 };
  const check = (payload: { query: string; variables?: Record<string, unknown> | null }) => {
    calls.count += 1;
    if (payload.query.includes("refused")) return [new GraphQLError("refused")];
    return { schema: undefined as never, document: parse(payload.query), variableValues: payload.variables ?? {} };
  };
  return { calls, check };
}

describe("checked subscription operations", () => {
  it("gives subscribers of the same operation one document, and checks it once", () => {
    const { calls, check } = countingCheck();
    const checked = createCheckedOperations(check);
    const a = checked({ query: SUBSCRIPTION, variables: { id: "w1" } });
    const b = checked({ query: SUBSCRIPTION, variables: { id: "w1" } });
    expect(Array.isArray(a) || Array.isArray(b)).toBe(false);
    expect((a as { document: unknown }).document).toBe((b as { document: unknown }).document);
    expect(calls.count).toBe(1);
  });

  it("checks again when the variables or the operation differ", () => {
    const { calls, check } = countingCheck();
    const checked = createCheckedOperations(check);
    const a = checked({ query: SUBSCRIPTION, variables: { id: "w1" } }) as { document: unknown };
    const b = checked({ query: SUBSCRIPTION, variables: { id: "w2" } }) as { document: unknown };
    expect(a.document).not.toBe(b.document);
    expect(calls.count).toBe(2);
  });

  it("keeps neither queries nor refused operations", () => {
    const { calls, check } = countingCheck();
    const checked = createCheckedOperations(check);
    checked({ query: QUERY });
    checked({ query: QUERY });
    expect(checked({ query: "subscription refused { x }" })).toHaveLength(1);
    expect(checked({ query: "subscription refused { x }" })).toHaveLength(1);
    expect(calls.count).toBe(4);
  });

  it("drops the least recently used past its size", () => {
    const { calls, check } = countingCheck();
    const checked = createCheckedOperations(check, 2);
    checked({ query: SUBSCRIPTION, variables: { id: "1" } });
    checked({ query: SUBSCRIPTION, variables: { id: "2" } });
    checked({ query: SUBSCRIPTION, variables: { id: "1" } }); // 1 is now the most recent
    checked({ query: SUBSCRIPTION, variables: { id: "3" } }); // drops 2
    expect(calls.count).toBe(3);
    checked({ query: SUBSCRIPTION, variables: { id: "1" } });
    expect(calls.count).toBe(3);
    checked({ query: SUBSCRIPTION, variables: { id: "2" } });
    expect(calls.count).toBe(4);
  });
});
