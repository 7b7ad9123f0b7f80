import { randomUUID } from "node:crypto";
import type { Driver } from "neo4j-driver";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { disposeAll, gqlOk, newWorkflow, startApp, testDriver } from "./support/harness";
import { checkedGql, expectNoLeak } from "./support/raw";
import { idExists } from "./support/workflow-state";

/**
 * Input hygiene on every write path: size limits on every string and on metadata (bytes and
 * depth), lone UTF-16 surrogates, and a decision offering its own ancestors. Each rejection is
 * checked for its code and field, and for having written nothing at all.
 */

let url: string;
let driver: Driver;

const LIMITS = { maxIdBytes: 64, maxNameBytes: 128, maxMetadataBytes: 2048, maxMetadataDepth: 8 };

beforeAll(async () => {
  ({ url } = await startApp(LIMITS));
  driver = testDriver();
});
afterAll(disposeAll);

const ADD_DECISION = /* GraphQL */ `
  mutation AddDecision($input: AddDecisionInput!) {
    addDecision(input: $input) {
      id
      options {
        id
      }
    }
  }
`;
const CHOOSE_OPTION = /* GraphQL */ `
  mutation Choose($input: ChooseOptionInput!) {
    chooseOption(input: $input) {
      id
    }
  }
`;
const ADD_MONITOR = /* GraphQL */ `
  mutation AddMonitor($input: AddMonitorInput!) {
    addMonitor(input: $input) {
      id
    }
  }
`;
const APPEND_NODES = /* GraphQL */ `
  mutation AppendNodes($input: [AppendNodeInput!]!) {
    appendNodes(input: $input) {
      id
    }
  }
`;
const FORK_BRANCH = /* GraphQL */ `
  mutation Fork($input: ForkBranchInput!) {
    forkBranch(input: $input) {
      id
    }
  }
`;
const SET_BRANCH_STATUS = /* GraphQL */ `
  mutation SetStatus($branchId: ID!, $status: BranchStatus!) {
    setBranchStatus(input: { branchId: $branchId, status: $status }) {
      id
    }
  }
`;

/** Everything a workflow holds that a write could change, counted with the raw driver. */
async function counts(workflowId: string) {
  const { records } = await driver.executeQuery(
    `MATCH (w:Workflow {id: $id})
     CALL (w) { OPTIONAL MATCH (n:WorkflowNode {workflowId: w.id}) RETURN count(n) AS nodes }
     CALL (w) { OPTIONAL MATCH (b:Branch {workflowId: w.id}) RETURN count(b) AS branches }
     CALL (w) { OPTIONAL MATCH (x:WorkflowEvent {workflowId: w.id}) RETURN count(x) AS events }
     CALL (w) {
       UNWIND ['PARENT_OF', 'OPTION_OF', 'CHOSEN_OPTION', 'MONITORS'] AS type
       OPTIONAL MATCH (:WorkflowNode {workflowId: w.id})-[r]->() WHERE type(r) = type
       WITH type, count(r) AS c ORDER BY type
       RETURN collect([type, c]) AS edges
     }
     RETURN w.lastSeq AS lastSeq, w.nodeCount AS nodeCount, w.branchCount AS branchCount,
            nodes, branches, events, edges`,
    { id: workflowId },
  );
  return records[0]?.toObject();
}

/**
 * A workflow with a main branch root → a1 → a2, a decision d under a2 with options o1 and o2 (each
 * on its own branch), a fork at a1 and a node b1 on it: every kind of write has something to act on.
 */
async function fixture() {
  const { workflowId, rootId, branchId } = await newWorkflow(url);
  const append = async (parentId: string, content: string) =>
    (await gqlOk(url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } })).appendNode;
  const a1 = await append(rootId, "a1");
  const a2 = await append(a1.id, "a2");
  const b1 = await append(a1.id, "b1");
  const decision = (
    await gqlOk(url, ADD_DECISION, {
      input: { workflowId, parentId: a2.id, content: "d", options: [{ content: "o1" }, { content: "o2" }] },
    })
  ).addDecision;
  return { workflowId, rootId, branchId, a1, a2, b1, decision };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

/** Sends the request, expects BAD_USER_INPUT naming `field`, and checks that nothing changed. */
async function expectRejected(
  f: Fixture,
  request: { query: string; variables: Record<string, unknown> },
  field: string | RegExp,
) {
  const before = await counts(f.workflowId);
  const res = await post(request.query, request.variables);
  expect(res.data ?? null).toBeNull();
  expect(res.errors).toHaveLength(1);
  expect(res.errors![0].extensions?.code).toBe("BAD_USER_INPUT");
  expect(String(res.errors![0].extensions?.field ?? res.errors![0].message)).toMatch(field);
  expect(await counts(f.workflowId)).toEqual(before);
  return res.errors![0];
}

/**
 * `depth` objects nested inside each other. Deeper than a few thousand levels, JSON.stringify
 * overflows this process's own stack, so a deep value is sent as prebuilt JSON text instead (see
 * {@link post}).
 */
function nested(depth: number): Record<string, unknown> {
  if (depth > 100) return { [DEEP]: depth };
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}
const DEEP = "__deep__";

/** POSTs like `checkedGql`, writing each `{"__deep__": n}` as n nested objects of JSON text. */
async function post(query: string, variables: Record<string, unknown>) {
  const body = JSON.stringify({ query, variables }).replace(
    new RegExp(`\\{"${DEEP}":(\\d+)\\}`, "g"),
    (_match, depth: string) => '{"a":'.repeat(Number(depth) - 1) + '{"leaf":true}' + "}".repeat(Number(depth) - 1),
  );
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const text = await res.text();
  expectNoLeak(text);
  return JSON.parse(text) as Awaited<ReturnType<typeof checkedGql>>;
}

const LONG_ID = "x".repeat(LIMITS.maxIdBytes + 1);
const LONG_NAME = "n".repeat(LIMITS.maxNameBytes + 1);
const LONE = "before \ud800 after";

describe("size limits and well-formed text on every write path", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  const appendInput = (extra: Record<string, unknown>) => ({
    query: APPEND_NODE,
    variables: { input: { workflowId: f.workflowId, parentId: f.a2.id, type: "MESSAGE", content: "c", ...extra } },
  });

  const cases: [string, () => { query: string; variables: Record<string, unknown> }, string | RegExp][] = [
    ["appendNode agentId too long", () => appendInput({ agentId: LONG_ID }), "input.agentId"],
    ["appendNode userId too long", () => appendInput({ userId: LONG_ID }), "input.userId"],
    ["appendNode id too long", () => appendInput({ id: LONG_ID }), "input.id"],
    ["appendNode branchId too long", () => appendInput({ branchId: LONG_ID }), "input.branchId"],
    [
      "appendNode workflowId too long",
      () => ({ query: APPEND_NODE, variables: { input: { ...appendInput({}).variables.input, workflowId: LONG_ID } } }),
      "input.workflowId",
    ],
    ["appendNode metadata 100,000 deep", () => appendInput({ metadata: nested(100000) }), "input.metadata"],
    ["appendNode metadata one level too deep", () => appendInput({ metadata: nested(9) }), "input.metadata"],
    [
      "appendNode metadata arrays nested too deep",
      () => appendInput({ metadata: { a: [[[[[[[["one level too deep"]]]]]]]] } }),
      "input.metadata",
    ],
    ["appendNode metadata too large", () => appendInput({ metadata: { big: "m".repeat(2048) } }), "input.metadata"],
    [
      "appendNode metadata too large in many small keys",
      () => appendInput({ metadata: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i])) }),
      "input.metadata",
    ],
    ["appendNode content with a lone surrogate", () => appendInput({ content: LONE }), "input.content"],
    ["appendNode agentId with a lone surrogate", () => appendInput({ agentId: "\udc00" }), "input.agentId"],
    [
      "appendNode metadata value with a lone surrogate",
      () => appendInput({ metadata: { a: [LONE] } }),
      "input.metadata",
    ],
    [
      "appendNode metadata key with a lone surrogate",
      () => appendInput({ metadata: { "k\ud800": 1 } }),
      "input.metadata",
    ],
    [
      "appendNodes: a bad second node rejects the batch",
      () => ({
        query: APPEND_NODES,
        variables: {
          input: [
            { workflowId: f.workflowId, parentId: f.a2.id, type: "MESSAGE", content: "fine" },
            { workflowId: f.workflowId, parentId: f.a2.id, type: "MESSAGE", content: "c", userId: LONG_ID },
          ],
        },
      }),
      "input[1].userId",
    ],
    [
      "addDecision option metadata 100,000 deep",
      () => ({
        query: ADD_DECISION,
        variables: {
          input: {
            workflowId: f.workflowId,
            parentId: f.b1.id,
            content: "d",
            options: [{ content: "o", metadata: nested(100000) }],
          },
        },
      }),
      "input.options[0].metadata",
    ],
    [
      "addDecision option agentId too long",
      () => ({
        query: ADD_DECISION,
        variables: {
          input: {
            workflowId: f.workflowId,
            parentId: f.b1.id,
            content: "d",
            options: [{ content: "o", agentId: LONG_ID }],
          },
        },
      }),
      "input.options[0].agentId",
    ],
    [
      "addDecision existingNodeId too long",
      () => ({
        query: ADD_DECISION,
        variables: {
          input: { workflowId: f.workflowId, parentId: f.b1.id, content: "d", options: [{ existingNodeId: LONG_ID }] },
        },
      }),
      "input.options[0].existingNodeId",
    ],
    [
      "chooseOption reason too long",
      () => ({
        query: CHOOSE_OPTION,
        variables: { input: { decisionId: f.decision.id, optionId: f.decision.options[0].id, reason: LONG_NAME } },
      }),
      "input.reason",
    ],
    [
      "chooseOption reason with a lone surrogate",
      () => ({
        query: CHOOSE_OPTION,
        variables: { input: { decisionId: f.decision.id, optionId: f.decision.options[0].id, reason: LONE } },
      }),
      "input.reason",
    ],
    [
      "addMonitor target id too long",
      () => ({
        query: ADD_MONITOR,
        variables: {
          input: { workflowId: f.workflowId, parentId: f.a2.id, content: "m", targetIds: [f.b1.id, LONG_ID] },
        },
      }),
      "input.targetIds[1]",
    ],
    [
      "forkBranch name too long",
      () => ({ query: FORK_BRANCH, variables: { input: { fromNodeId: f.a1.id, name: LONG_NAME } } }),
      "input.name",
    ],
    [
      "forkBranch name with a lone surrogate",
      () => ({ query: FORK_BRANCH, variables: { input: { fromNodeId: f.a1.id, name: LONE } } }),
      "input.name",
    ],
    [
      "setBranchStatus branchId too long",
      () => ({ query: SET_BRANCH_STATUS, variables: { branchId: LONG_ID, status: "ABANDONED" } }),
      "input.branchId",
    ],
  ];

  it.each(cases)("%s: BAD_USER_INPUT, nothing written", async (_name, request, field) => {
    await expectRejected(f, request(), field);
  });

  it("accepts metadata at the depth limit and strings at the size limits (the limits are not off by one)", async () => {
    const data = await gqlOk(url, APPEND_NODE, {
      input: {
        workflowId: f.workflowId,
        parentId: f.a2.id,
        type: "MESSAGE",
        content: "at the limits",
        metadata: nested(LIMITS.maxMetadataDepth),
        agentId: "a".repeat(LIMITS.maxIdBytes),
        userId: "é".repeat(LIMITS.maxIdBytes / 2),
      },
    });
    expect(data.appendNode.content).toBe("at the limits");
  });

  it("rejects a 10,000-deep metadata literal written into the document", async () => {
    const before = await counts(f.workflowId);
    const literal = "{a: ".repeat(10000) + "1" + "}".repeat(10000);
    const res = await checkedGql(
      url,
      `mutation { appendNode(input: {workflowId: "${f.workflowId}", parentId: "${f.a2.id}", type: MESSAGE,
        content: "c", metadata: ${literal}}) { id } }`,
    );
    expect(res.data ?? null).toBeNull();
    // Refused before parsing (graphql-js's parser is recursive), by the token limit.
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(["QUERY_TOO_COMPLEX"]);
    expect(await counts(f.workflowId)).toEqual(before);
  });
});

describe("startWorkflow input limits", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["name too long", { name: LONG_NAME }, "input.name"],
    ["name with a lone surrogate", { name: LONE }, "input.name"],
    ["systemPrompt with a lone surrogate", { systemPrompt: LONE }, "input.systemPrompt"],
    ["agentId too long", { agentId: LONG_ID }, "input.agentId"],
    ["userId too long", { userId: LONG_ID }, "input.userId"],
    ["metadata 100,000 deep", { metadata: nested(100000) }, "input.metadata"],
  ];

  it.each(cases)("%s: BAD_USER_INPUT, no workflow stored", async (_name, extra, field) => {
    const id = randomUUID();
    const res = await post(START_WORKFLOW, { input: { id, name: "w", systemPrompt: "p", ...extra } });
    expect(res.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(res.errors?.[0].extensions?.field).toBe(field);
    expect(await idExists(driver, id)).toBe(false);
  });

  it("a lone surrogate is not stored as U+FFFD to turn an identical retry into a CONFLICT", async () => {
    const input = { id: randomUUID(), name: "w", systemPrompt: "p", metadata: { note: "\ud83d" } };
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await checkedGql(url, START_WORKFLOW, { input });
      expect(res.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    }
    expect(await idExists(driver, input.id)).toBe(false);
  });
});

describe("a decision cannot offer its own ancestors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  const offering = (existingNodeId: string) => ({
    query: ADD_DECISION,
    variables: {
      input: {
        workflowId: f.workflowId,
        parentId: f.a2.id,
        content: "again?",
        options: [{ content: "new" }, { existingNodeId }],
      },
    },
  });

  it.each([
    ["the parent", () => f.a2.id],
    ["the grandparent", () => f.a1.id],
    ["the root", () => f.rootId],
  ])("offering %s: BAD_USER_INPUT naming the option, nothing written", async (_name, id) => {
    const error = await expectRejected(f, offering(id()), "input.options[1].existingNodeId");
    expect(error.message).toMatch(/ancestor/);
  });

  it("offering a node on another branch, or a sibling of the parent, still works", async () => {
    const data = await gqlOk(url, ADD_DECISION, offering(f.b1.id).variables);
    expect(data.addDecision.options.map((o: { id: string }) => o.id)).toContain(f.b1.id);
  });
});
