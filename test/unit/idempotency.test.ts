import {
  assertSameDecision,
  assertSameNode,
  optionShapes,
  type OfferedOption,
  type RetriedNode,
  type StoredOption,
} from "../../src/domain/idempotency";
import type { StoredNode } from "../../src/domain/workflow-node";
import { thrown } from "../support/thrown";

const stored: StoredNode = {
  id: "n1",
  workflowId: "w",
  branchId: "main",
  type: "DECISION",
  content: "which way?",
  metadata: '{"a":1}',
  timestamp: "2026-01-01T00:00:00.000Z",
  seq: 3,
  depth: 2,
  agentId: "agent",
  userId: null,
  parentId: "p",
  watchBranchIds: null,
  restrictedTo: null,
  writtenBy: null,
};

const retry: RetriedNode = {
  workflowId: "w",
  parentId: "p",
  type: "DECISION",
  content: "which way?",
  metadata: '{"a":1}',
  agentId: "agent",
  userId: null,
  branchId: null,
  field: "input[2]",
};

describe("assertSameNode", () => {
  it("accepts a retry with the same input, whatever branch it was put on when the retry names none", () => {
    expect(() => assertSameNode(stored, retry)).not.toThrow();
    expect(() => assertSameNode(stored, { ...retry, branchId: "main" })).not.toThrow();
  });

  it("answers CONFLICT naming every field that differs, at the retry's id field", () => {
    const error = thrown(() =>
      assertSameNode(stored, { ...retry, content: "other", metadata: null, branchId: "elsewhere" }),
    );
    expect(error.message).toBe("Node n1 already exists with a different content, metadata, branchId");
    expect(error.extensions).toEqual({
      code: "CONFLICT",
      field: "input[2].id",
      differing: ["content", "metadata", "branchId"],
    });
  });

  it("compares extra fields as JSON", () => {
    expect(() => assertSameNode(stored, retry, [["targetIds", ["a", "b"], ["a", "b"]]])).not.toThrow();
    expect(thrown(() => assertSameNode(stored, retry, [["targetIds", ["a", "b"], ["a"]]])).extensions).toMatchObject({
      code: "CONFLICT",
      differing: ["targetIds"],
    });
  });
});

describe("decision options on a retry", () => {
  // The first request offered two new options (one id generated, one named) and an existing node.
  const storedOptions: StoredOption[] = [
    { id: "generated", created: true, content: "left", metadata: null, agentId: "agent" },
    { id: "named", created: true, content: "right", metadata: '{"k":1}', agentId: "agent" },
    { id: "older", created: false, content: "an older node", metadata: null, agentId: null },
  ];
  const newOption = (id: string, content: string, clientId: boolean, metadata: string | null = null) =>
    ({ kind: "new", id, clientId, content, metadata, agentId: "agent" }) as const;
  const sameOffer: OfferedOption[] = [
    newOption("fresh-uuid", "left", false),
    newOption("named", "right", true, '{"k":1}'),
    { kind: "existing", id: "older" },
  ];

  it("matches a retry whose new option names no id: the id generated the first time is not compared", () => {
    const [was, now] = optionShapes(storedOptions, sameOffer);
    expect(now).toEqual(was);
    expect(() => assertSameDecision(stored, retry, storedOptions, sameOffer)).not.toThrow();
  });

  it("matches a retry that offers the same options in another order", () => {
    const reordered = [sameOffer[2], sameOffer[0], sameOffer[1]];
    expect(() => assertSameDecision(stored, retry, storedOptions, reordered)).not.toThrow();
  });

  it("matches a retry that names the id generated the first time", () => {
    const named = [newOption("generated", "left", true), sameOffer[1], sameOffer[2]];
    expect(() => assertSameDecision(stored, retry, storedOptions, named)).not.toThrow();
  });

  it("answers CONFLICT (options) for a named id that differs from the stored option's", () => {
    const renamed = [sameOffer[0], newOption("other-id", "right", true, '{"k":1}'), sameOffer[2]];
    expect(thrown(() => assertSameDecision(stored, retry, storedOptions, renamed)).extensions).toEqual({
      code: "CONFLICT",
      field: "input[2].id",
      differing: ["options"],
    });
  });

  it("answers CONFLICT (options) for different content, a missing option, or an existing node offered as new", () => {
    const cases: OfferedOption[][] = [
      [newOption("x", "LEFT", false), sameOffer[1], sameOffer[2]],
      [sameOffer[0], sameOffer[1]],
      [sameOffer[0], sameOffer[1], newOption("older", "an older node", true)],
    ];
    for (const offer of cases) {
      expect(thrown(() => assertSameDecision(stored, retry, storedOptions, offer)).extensions.differing).toEqual([
        "options",
      ]);
    }
  });

  it("reports a different decision and different options together", () => {
    const error = thrown(() => assertSameDecision(stored, { ...retry, content: "other" }, storedOptions, []));
    expect(error.extensions.differing).toEqual(["content", "options"]);
  });
});
