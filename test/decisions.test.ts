import { randomUUID } from "node:crypto";
import type { Driver } from "neo4j-driver";
import { APPEND_NODE } from "./support/documents";
import { disposeAll, gqlOk, newWorkflow, startApp, testDriver, type RunningApp } from "./support/harness";
import { checkedGql, codeOf, expectNothingWritten } from "./support/raw";
import { lastSeqOf, workflowState } from "./support/workflow-state";

/**
 * Decisions end to end: addDecision (new OPTION nodes on branches of their own, existing nodes of
 * other branches), chooseOption (a decision is made once), decisionPoints, the errors (each of
 * which writes nothing) and idempotent retries. Each test works in workflows of its own.
 */

let api: RunningApp;
let driver: Driver;
beforeAll(async () => {
  api = await startApp();
  driver = testDriver();
});
afterAll(disposeAll);

const ADD_DECISION = /* GraphQL */ `
  mutation AddDecision($input: AddDecisionInput!) {
    addDecision(input: $input) {
      id
      type
      content
      seq
      depth
      branchId
      parent {
        id
      }
      chosenOption {
        id
      }
      options {
        id
        type
        content
        metadata
        agentId
        seq
        depth
        branchId
        parent {
          id
        }
        decision {
          id
        }
        branch {
          id
          length
          forkedFrom {
            id
          }
          head {
            id
          }
        }
      }
    }
  }
`;

const CHOOSE_OPTION = /* GraphQL */ `
  mutation Choose($input: ChooseOptionInput!) {
    chooseOption(input: $input) {
      id
      type
      chosenOption {
        id
        content
      }
    }
  }
`;

const DECISION_POINTS = /* GraphQL */ `
  query Points($workflowId: ID!, $pending: Boolean) {
    decisionPoints(workflowId: $workflowId, pending: $pending) {
      decision {
        id
        seq
      }
      options {
        id
      }
      chosen {
        id
      }
    }
  }
`;

interface Node {
  id: string;
  seq: number;
  branchId: string;
  content: string;
}

async function append(workflowId: string, parentId: string, content: string): Promise<Node> {
  return (await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } })).appendNode;
}

async function decide(input: Record<string, unknown>) {
  return (await gqlOk(api.url, ADD_DECISION, { input })).addDecision;
}

function choose(input: Record<string, unknown>) {
  return checkedGql(api.url, CHOOSE_OPTION, { input });
}

const optionByContent = (decision: { options: Node[] }, content: string): any => {
  const option = decision.options.find((o) => o.content === content);
  if (!option) throw new Error(`no option "${content}" in ${JSON.stringify(decision.options)}`);
  return option;
};

const sorted = (values: string[]) => [...values].sort();

/** The ids of the nodes at the end of a decision's edges of one type, read with the raw driver. */
async function edgeTargets(decisionId: string, type: "OPTION_OF" | "PARENT_OF" | "CHOSEN_OPTION") {
  const { records } = await driver.executeQuery(
    `MATCH (:WorkflowNode {id: $id})-[r]->(o:WorkflowNode) WHERE type(r) = $type RETURN o.id AS id`,
    { id: decisionId, type },
  );
  return sorted(records.map((r) => r.get("id")));
}

/**
 * A workflow with a main branch (root → main) and a second branch (root → other, forked because
 * the root already had a child), ready for decisions.
 */
async function twoBranches() {
  const wf = await newWorkflow(api.url, "decisions");
  const main = await append(wf.workflowId, wf.rootId, "main");
  const other = await append(wf.workflowId, wf.rootId, "other");
  expect(main.branchId).toBe(wf.branchId);
  expect(other.branchId).not.toBe(wf.branchId);
  return { ...wf, main, other };
}

describe("addDecision", () => {
  it("creates a DECISION under the parent whose new OPTION nodes are its children, linked by OPTION_OF, each on a branch of its own forked from the decision", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const parent = await append(workflowId, rootId, "Find a hotel"); // seq 1
    const decision = await decide({
      workflowId,
      parentId: parent.id,
      content: "Which area?",
      agentId: "planner",
      options: [
        { content: "Alfama", metadata: { stars: 4 } },
        { content: "Belém", agentId: "scout" },
        { content: "Baixa" },
      ],
    });

    expect(decision).toMatchObject({
      type: "DECISION",
      content: "Which area?",
      seq: 2,
      depth: 2,
      branchId, // the parent was the main branch's head: the decision continues it
      parent: { id: parent.id },
      chosenOption: null,
    });
    expect(decision.options).toHaveLength(3);
    const [alfama, belem, baixa] = ["Alfama", "Belém", "Baixa"].map((c) => optionByContent(decision, c));
    // New options are written in the order offered, right after the decision.
    expect([alfama.seq, belem.seq, baixa.seq]).toEqual([3, 4, 5]);
    expect(alfama.metadata).toEqual({ stars: 4 });
    expect([alfama.agentId, belem.agentId, baixa.agentId]).toEqual(["planner", "scout", "planner"]);
    for (const option of decision.options) {
      expect(option).toMatchObject({
        type: "OPTION",
        depth: 3,
        parent: { id: decision.id },
        decision: { id: decision.id },
        branch: { id: option.branchId, length: 1, forkedFrom: { id: decision.id }, head: { id: option.id } },
      });
    }
    const branchIds = decision.options.map((o: Node) => o.branchId);
    expect(new Set([...branchIds, decision.branchId]).size).toBe(4);

    const optionIds = sorted(decision.options.map((o: Node) => o.id));
    expect(await edgeTargets(decision.id, "OPTION_OF")).toEqual(optionIds);
    expect(await edgeTargets(decision.id, "PARENT_OF")).toEqual(optionIds);
    expect(await edgeTargets(decision.id, "CHOSEN_OPTION")).toEqual([]);
    expect(await edgeTargets(parent.id, "PARENT_OF")).toEqual([decision.id]);
    const { records } = await driver.executeQuery(
      `MATCH (b:Branch {forkedFromId: $id}) RETURN b.headId AS head, b.length AS length, b.workflowId AS wf`,
      { id: decision.id },
    );
    expect(sorted(records.map((r) => r.get("head")))).toEqual(optionIds);
    expect(records.map((r) => [r.get("length"), r.get("wf")])).toEqual(Array(3).fill([1, workflowId]));
    expect(await workflowState(driver, workflowId)).toMatchObject({ lastSeq: 5, nodeCount: 6, nodes: 6, branches: 4 });
  });

  it("offers an existing node of another branch as an option (a cross-branch decision) with an OPTION_OF edge and no new node", async () => {
    const { workflowId, main, other } = await twoBranches();
    const before = await workflowState(driver, workflowId);
    const decision = await decide({
      workflowId,
      parentId: main.id,
      content: "Continue here or there?",
      options: [{ content: "here" }, { existingNodeId: other.id }],
    });

    expect(decision.options).toHaveLength(2);
    const offered = decision.options.find((o: Node) => o.id === other.id);
    expect(offered).toMatchObject({
      type: "MESSAGE",
      content: "other",
      seq: other.seq,
      branchId: other.branchId, // it stays where it was
      decision: { id: decision.id },
    });
    expect(offered.parent).not.toEqual({ id: decision.id });
    const here = optionByContent(decision, "here");
    expect(here).toMatchObject({
      type: "OPTION",
      parent: { id: decision.id },
      branch: { forkedFrom: { id: decision.id } },
    });

    expect(await edgeTargets(decision.id, "OPTION_OF")).toEqual(sorted([here.id, other.id]));
    expect(await edgeTargets(decision.id, "PARENT_OF")).toEqual([here.id]);
    const after = await workflowState(driver, workflowId);
    // Two nodes (the decision and the one new option), two seqs, one new branch.
    expect(after).toMatchObject({
      lastSeq: before.lastSeq + 2,
      nodeCount: before.nodeCount + 2,
      nodes: before.nodes + 2,
      branches: before.branches + 1,
    });
    const { records } = await driver.executeQuery(
      "MATCH (n:WorkflowNode {workflowId: $wf, content: 'other'}) RETURN count(n) AS c",
      { wf: workflowId },
    );
    expect(records[0].get("c")).toBe(1);
  });
});

describe("an existing node offered by several decisions", () => {
  it("answers the first decision (by seq) as its `decision`, and each decision lists it among its options", async () => {
    const { workflowId, main, other } = await twoBranches();
    const first = await decide({
      workflowId,
      parentId: main.id,
      content: "1st",
      options: [{ existingNodeId: other.id }],
    });
    const second = await decide({
      workflowId,
      parentId: first.id,
      content: "2nd",
      options: [{ content: "new" }, { existingNodeId: other.id }],
    });
    expect(first.options).toEqual([expect.objectContaining({ id: other.id, decision: { id: first.id } })]);
    expect(second.options.find((o: Node) => o.id === other.id)).toMatchObject({ decision: { id: first.id } });
    const { records } = await driver.executeQuery(
      "MATCH (d:WorkflowNode)-[:OPTION_OF]->(:WorkflowNode {id: $id}) RETURN d.id AS id",
      { id: other.id },
    );
    expect(sorted(records.map((r) => r.get("id")))).toEqual(sorted([first.id, second.id]));
  });
});

describe("chooseOption", () => {
  async function decisionOf(options = [{ content: "yes" }, { content: "no" }]) {
    const wf = await twoBranches();
    const decision = await decide({ workflowId: wf.workflowId, parentId: wf.main.id, content: "Go?", options });
    return { ...wf, decision };
  }

  it("writes (decision)-[:CHOSEN_OPTION {reason, at, by, seq}]->(option) drawing one seq, and chosenOption returns the option", async () => {
    const { workflowId, decision } = await decisionOf();
    const yes = optionByContent(decision, "yes");
    const before = await lastSeqOf(driver, workflowId);
    const startedAt = Date.now();

    const res = await choose({ decisionId: decision.id, optionId: yes.id, reason: "cheaper", agentId: "judge" });
    expect(res.errors).toBeUndefined();
    expect(res.data!.chooseOption).toEqual({
      id: decision.id,
      type: "DECISION",
      chosenOption: { id: yes.id, content: "yes" },
    });
    expect(await lastSeqOf(driver, workflowId)).toBe(before + 1);

    const { records } = await driver.executeQuery(
      `MATCH (:WorkflowNode {id: $id})-[r:CHOSEN_OPTION]->(o:WorkflowNode)
       RETURN o.id AS option, r.reason AS reason, r.by AS by, r.seq AS seq, toString(r.at) AS at`,
      { id: decision.id },
    );
    expect(records).toHaveLength(1);
    expect(records[0].toObject()).toMatchObject({ option: yes.id, reason: "cheaper", by: "judge", seq: before + 1 });
    const at = new Date(records[0].get("at")).getTime();
    expect(at).toBeGreaterThanOrEqual(startedAt - 5000);
    expect(at).toBeLessThanOrEqual(Date.now() + 5000);

    const read = await gqlOk(
      api.url,
      `query($id: ID!) { workflowNodes(where: {id: {eq: $id}}) { chosenOption { id } options { id } } }`,
      { id: decision.id },
    );
    expect(read.workflowNodes[0].chosenOption).toEqual({ id: yes.id });
  });

  it("records the userId as `by` when no agentId is given, and a null reason when none is", async () => {
    const { decision } = await decisionOf();
    const no = optionByContent(decision, "no");
    expect((await choose({ decisionId: decision.id, optionId: no.id, userId: "ana" })).errors).toBeUndefined();
    const { records } = await driver.executeQuery(
      "MATCH (:WorkflowNode {id: $id})-[r:CHOSEN_OPTION]->() RETURN r.by AS by, r.reason AS reason",
      { id: decision.id },
    );
    expect(records.map((r) => r.toObject())).toEqual([{ by: "ana", reason: null }]);
  });

  it("treats choosing the chosen option again as a no-op: same result, no seq drawn, still one edge", async () => {
    const { workflowId, decision } = await decisionOf();
    const yes = optionByContent(decision, "yes");
    const first = await choose({ decisionId: decision.id, optionId: yes.id, reason: "first" });
    const state = await workflowState(driver, workflowId);

    const again = await choose({ decisionId: decision.id, optionId: yes.id, reason: "said twice" });
    expect(again.errors).toBeUndefined();
    expect(again.data).toEqual(first.data);
    expect(await workflowState(driver, workflowId)).toEqual(state);
    const { records } = await driver.executeQuery(
      "MATCH (:WorkflowNode {id: $id})-[r:CHOSEN_OPTION]->() RETURN r.reason AS reason",
      { id: decision.id },
    );
    expect(records.map((r) => r.get("reason"))).toEqual(["first"]);
  });

  it("answers CONFLICT for a different option once the decision is made, and writes nothing", async () => {
    const { workflowId, decision } = await decisionOf();
    const [yes, no] = [optionByContent(decision, "yes"), optionByContent(decision, "no")];
    await choose({ decisionId: decision.id, optionId: yes.id });
    const res = await expectNothingWritten(driver, [workflowId], [], () =>
      choose({ decisionId: decision.id, optionId: no.id }),
    );
    expect(codeOf(res)).toBe("CONFLICT");
    expect(res.errors![0].extensions).toMatchObject({ chosenId: yes.id });
    expect(await edgeTargets(decision.id, "CHOSEN_OPTION")).toEqual([yes.id]);
  });

  it("answers BAD_USER_INPUT for a node that is not one of the decision's options, and writes nothing", async () => {
    const { workflowId, main, other, decision } = await decisionOf();
    const second = await decide({ workflowId, parentId: other.id, content: "Other?", options: [{ content: "z" }] });
    const foreign = await newWorkflow(api.url);
    // the decision's parent, a node of another branch, another decision's option, another workflow's node
    for (const optionId of [main.id, other.id, second.options[0].id, foreign.rootId]) {
      const res = await expectNothingWritten(driver, [workflowId, foreign.workflowId], [], () =>
        choose({ decisionId: decision.id, optionId }),
      );
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
      expect(res.errors![0].extensions).toMatchObject({ field: "input.optionId" });
    }
    expect(await edgeTargets(decision.id, "CHOSEN_OPTION")).toEqual([]);
  });

  it("answers NOT_FOUND for an unknown decision id and for an unknown option id, and writes nothing", async () => {
    const { workflowId, decision } = await decisionOf();
    const yes = optionByContent(decision, "yes");
    const unknownDecision = await expectNothingWritten(driver, [workflowId], [], () =>
      choose({ decisionId: randomUUID(), optionId: yes.id }),
    );
    expect(codeOf(unknownDecision)).toBe("NOT_FOUND");
    expect(unknownDecision.errors![0].extensions).toMatchObject({ field: "input.decisionId" });
    const unknownOption = await expectNothingWritten(driver, [workflowId], [], () =>
      choose({ decisionId: decision.id, optionId: randomUUID() }),
    );
    expect(codeOf(unknownOption)).toBe("NOT_FOUND");
    expect(unknownOption.errors![0].extensions).toMatchObject({ field: "input.optionId" });
  });

  it("answers BAD_USER_INPUT when decisionId names a node that is not a DECISION, and writes nothing", async () => {
    const { workflowId, main, other, decision } = await decisionOf();
    const yes = optionByContent(decision, "yes");
    for (const [decisionId, optionId] of [
      [main.id, other.id],
      [yes.id, yes.id], // an OPTION node is not a decision either
    ]) {
      const res = await expectNothingWritten(driver, [workflowId], [], () => choose({ decisionId, optionId }));
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
      expect(res.errors![0].extensions).toMatchObject({ field: "input.decisionId" });
    }
  });

  it("lets exactly one of concurrent choices of different options win; the others get CONFLICT", async () => {
    const options = Array.from({ length: 8 }, (_, i) => ({ content: `option ${i}` }));
    const { workflowId, decision } = await decisionOf(options);
    const before = await lastSeqOf(driver, workflowId);
    const results = await Promise.all(
      decision.options.map((o: Node) => choose({ decisionId: decision.id, optionId: o.id })),
    );
    const winners = results.filter((r) => !r.errors);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.errors).map((r) => r.errors![0].extensions?.code)).toEqual(
      Array(7).fill("CONFLICT"),
    );
    const chosen = winners[0].data!.chooseOption.chosenOption.id;
    expect(await edgeTargets(decision.id, "CHOSEN_OPTION")).toEqual([chosen]);
    expect(await lastSeqOf(driver, workflowId)).toBe(before + 1);
  });

  it("records concurrent choices of the same option once: every request succeeds, one edge, one seq", async () => {
    const { workflowId, decision } = await decisionOf();
    const yes = optionByContent(decision, "yes");
    const before = await lastSeqOf(driver, workflowId);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => choose({ decisionId: decision.id, optionId: yes.id })),
    );
    for (const res of results) expect(res.data?.chooseOption.chosenOption).toEqual({ id: yes.id, content: "yes" });
    expect(await edgeTargets(decision.id, "CHOSEN_OPTION")).toEqual([yes.id]);
    expect(await lastSeqOf(driver, workflowId)).toBe(before + 1);
  });

  it("chooses an existing node of another branch offered by a cross-branch decision", async () => {
    const { workflowId, main, other } = await twoBranches();
    const cross = await decide({
      workflowId,
      parentId: main.id,
      content: "Switch?",
      options: [{ content: "stay" }, { existingNodeId: other.id }],
    });
    const before = await lastSeqOf(driver, workflowId);
    const res = await choose({
      decisionId: cross.id,
      optionId: other.id,
      reason: "already explored",
      agentId: "judge",
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.chooseOption.chosenOption).toEqual({ id: other.id, content: "other" });
    expect(await lastSeqOf(driver, workflowId)).toBe(before + 1);
    expect(await edgeTargets(cross.id, "CHOSEN_OPTION")).toEqual([other.id]);
  });
});

describe("decisionPoints", () => {
  /** Three decisions: d1 (a, b) chosen b; d2 (c, d) pending; d3 (e, f) chosen e. */
  async function threeDecisions() {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const m = await append(workflowId, rootId, "m");
    const d1 = await decide({
      workflowId,
      parentId: m.id,
      content: "d1",
      options: [{ content: "a" }, { content: "b" }],
    });
    const d2 = await decide({
      workflowId,
      parentId: d1.id,
      content: "d2",
      options: [{ content: "c" }, { content: "d" }],
    });
    const d3 = await decide({
      workflowId,
      parentId: d2.id,
      content: "d3",
      options: [{ content: "e" }, { content: "f" }],
    });
    const ids = (d: { options: Node[] }, ...contents: string[]) => contents.map((c) => optionByContent(d, c).id);
    const [, b] = ids(d1, "a", "b");
    const [e] = ids(d3, "e", "f");
    // chosen out of seq order, so that the list's order cannot come from the choices
    expect((await choose({ decisionId: d3.id, optionId: e })).errors).toBeUndefined();
    expect((await choose({ decisionId: d1.id, optionId: b })).errors).toBeUndefined();
    return {
      workflowId,
      d1: { decision: { id: d1.id, seq: d1.seq }, options: ids(d1, "a", "b").map((id) => ({ id })), chosen: { id: b } },
      d2: { decision: { id: d2.id, seq: d2.seq }, options: ids(d2, "c", "d").map((id) => ({ id })), chosen: null },
      d3: { decision: { id: d3.id, seq: d3.seq }, options: ids(d3, "e", "f").map((id) => ({ id })), chosen: { id: e } },
    };
  }

  it("lists the workflow's decisions in seq order with their options in the order offered and the choice made", async () => {
    const { workflowId, d1, d2, d3 } = await threeDecisions();
    expect(d1.decision.seq).toBeLessThan(d2.decision.seq);
    expect(d2.decision.seq).toBeLessThan(d3.decision.seq);
    const data = await gqlOk(api.url, DECISION_POINTS, { workflowId });
    expect(data.decisionPoints).toEqual([d1, d2, d3]);
  });

  it("with pending: true keeps only the decisions not chosen, with pending: false only the chosen ones", async () => {
    const { workflowId, d1, d2, d3 } = await threeDecisions();
    expect((await gqlOk(api.url, DECISION_POINTS, { workflowId, pending: true })).decisionPoints).toEqual([d2]);
    expect((await gqlOk(api.url, DECISION_POINTS, { workflowId, pending: false })).decisionPoints).toEqual([d1, d3]);
    expect((await gqlOk(api.url, DECISION_POINTS, { workflowId, pending: null })).decisionPoints).toEqual([d1, d2, d3]);
  });

  it("keeps the order offered when an existing node (older, lower seq) is offered between new options", async () => {
    const { workflowId, main, other } = await twoBranches();
    const decision = await decide({
      workflowId,
      parentId: main.id,
      content: "mixed",
      options: [{ content: "first" }, { existingNodeId: other.id }, { content: "third" }],
    });
    const offered = [optionByContent(decision, "first").id, other.id, optionByContent(decision, "third").id];
    const data = await gqlOk(api.url, DECISION_POINTS, { workflowId });
    expect(data.decisionPoints).toEqual([
      { decision: { id: decision.id, seq: decision.seq }, options: offered.map((id) => ({ id })), chosen: null },
    ]);
  });

  it("answers an empty list for a workflow without decisions", async () => {
    const { workflowId } = await twoBranches();
    expect((await gqlOk(api.url, DECISION_POINTS, { workflowId })).decisionPoints).toEqual([]);
  });

  it("answers NOT_FOUND for an unknown workflow", async () => {
    const res = await checkedGql(api.url, DECISION_POINTS, { workflowId: randomUUID() });
    expect(codeOf(res)).toBe("NOT_FOUND");
  });
});

describe("addDecision errors write nothing", () => {
  type Case = [string, string, (wf: Awaited<ReturnType<typeof fixture>>) => Record<string, unknown>];

  /** A workflow with two branches, and another workflow. */
  async function fixture() {
    const wf = await twoBranches();
    const foreign = await newWorkflow(api.url, "foreign");
    return { ...wf, foreign };
  }

  const optionId = randomUUID();
  const cases: Case[] = [
    ["BAD_USER_INPUT", "for an empty list of options", () => ({ options: [] })],
    [
      "BAD_USER_INPUT",
      "for two new options with the same id",
      () => ({
        options: [
          { id: optionId, content: "a" },
          { id: optionId.toUpperCase(), content: "b" },
        ],
      }),
    ],
    [
      "BAD_USER_INPUT",
      "for the same existing node offered twice",
      (wf) => ({ options: [{ existingNodeId: wf.other.id }, { existingNodeId: wf.other.id }] }),
    ],
    [
      "BAD_USER_INPUT",
      "for an option with both content and existingNodeId",
      (wf) => ({ options: [{ content: "a" }, { content: "b", existingNodeId: wf.other.id }] }),
    ],
    [
      "BAD_USER_INPUT",
      "for an existingNodeId given with metadata (which it would ignore)",
      (wf) => ({ options: [{ content: "a" }, { existingNodeId: wf.other.id, metadata: { rank: 1 } }] }),
    ],
    [
      "BAD_USER_INPUT",
      "for an option with neither content nor existingNodeId",
      () => ({ options: [{ content: "a" }, {}] }),
    ],
    [
      "BAD_USER_INPUT",
      "for an existingNodeId of another workflow",
      (wf) => ({ options: [{ content: "a" }, { existingNodeId: wf.foreign.rootId }] }),
    ],
    [
      "NOT_FOUND",
      "for an unknown existingNodeId",
      () => ({ options: [{ content: "a" }, { existingNodeId: randomUUID() }] }),
    ],
    ["NOT_FOUND", "for an unknown parent", () => ({ parentId: randomUUID() })],
    ["BAD_USER_INPUT", "for a parent in another workflow", (wf) => ({ parentId: wf.foreign.rootId })],
    ["NOT_FOUND", "for an unknown workflow", () => ({ workflowId: randomUUID() })],
  ];

  it.each(cases)("answers %s %s", async (code, _what, change) => {
    const wf = await fixture();
    const decisionId = randomUUID();
    const newOptionId = randomUUID();
    const input = {
      id: decisionId,
      workflowId: wf.workflowId,
      parentId: wf.main.id,
      content: "Which?",
      options: [{ id: newOptionId, content: "a" }, { content: "b" }],
      ...change(wf),
    };
    const res = await expectNothingWritten(
      driver,
      [wf.workflowId, wf.foreign.workflowId],
      [decisionId, newOptionId, optionId],
      () => checkedGql(api.url, ADD_DECISION, { input }),
    );
    expect(codeOf(res)).toBe(code);
  });
});

describe("addDecision retried with the same id", () => {
  async function decided(options: Record<string, unknown>[]) {
    const { workflowId, main, other } = await twoBranches();
    const input = {
      id: randomUUID(),
      workflowId,
      parentId: main.id,
      content: "Which?",
      metadata: { b: 1, a: 2 },
      options: options.map((o) => (o.existingNodeId === "other" ? { existingNodeId: other.id } : o)),
    };
    const first = (await gqlOk(api.url, ADD_DECISION, { input })).addDecision;
    return { workflowId, input, first };
  }

  it("returns the stored decision and writes nothing when the input is the same (options with ids)", async () => {
    const { workflowId, input, first } = await decided([
      { id: randomUUID(), content: "a" },
      { id: randomUUID(), content: "b", metadata: { x: 1 } },
      { existingNodeId: "other" },
    ]);
    const res = await expectNothingWritten(driver, [workflowId], [], () =>
      checkedGql(api.url, ADD_DECISION, { input: { ...input, metadata: { a: 2, b: 1 } } }),
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.addDecision.id).toBe(first.id);
    const byId = (o: { id: string }, p: { id: string }) => o.id.localeCompare(p.id);
    expect({ ...res.data!.addDecision, options: [...res.data!.addDecision.options].sort(byId) }).toEqual({
      ...first,
      options: [...first.options].sort(byId),
    });
  });

  it("returns the stored decision and writes nothing when the same input names no option ids (they were generated)", async () => {
    const { workflowId, input, first } = await decided([
      { content: "a" },
      { content: "b" },
      { existingNodeId: "other" },
    ]);
    const res = await expectNothingWritten(driver, [workflowId], [], () =>
      checkedGql(api.url, ADD_DECISION, { input }),
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.addDecision.id).toBe(first.id);
    expect(sorted(res.data!.addDecision.options.map((o: Node) => o.id))).toEqual(
      sorted(first.options.map((o: Node) => o.id)),
    );
  });

  it("creates one decision from concurrent identical requests, and returns it to each", async () => {
    const { workflowId, main } = await twoBranches();
    const before = await workflowState(driver, workflowId);
    const input = {
      id: randomUUID(),
      workflowId,
      parentId: main.id,
      content: "Which?",
      options: [{ content: "a" }, { content: "b" }],
    };
    const results = await Promise.all(Array.from({ length: 6 }, () => checkedGql(api.url, ADD_DECISION, { input })));
    for (const res of results) {
      expect(res.errors).toBeUndefined();
      expect(res.data!.addDecision.id).toBe(input.id);
    }
    const optionSets = results.map((r) => JSON.stringify(sorted(r.data!.addDecision.options.map((o: Node) => o.id))));
    expect(new Set(optionSets).size).toBe(1);
    expect(await workflowState(driver, workflowId)).toMatchObject({
      lastSeq: before.lastSeq + 3,
      nodes: before.nodes + 3,
    });
  });

  it("answers CONFLICT and writes nothing for the same id with different options", async () => {
    const optionIds = [randomUUID(), randomUUID()];
    const { workflowId, input } = await decided([
      { id: optionIds[0], content: "a" },
      { id: optionIds[1], content: "b" },
    ]);
    const extra = randomUUID();
    const variants = [
      { ...input, options: [...input.options, { id: extra, content: "c" }] }, // one more
      { ...input, options: input.options.slice(0, 1) }, // one fewer
      { ...input, options: [input.options[0], { id: extra, content: "b" }] }, // another id
    ];
    for (const variant of variants) {
      const res = await expectNothingWritten(driver, [workflowId], [extra], () =>
        checkedGql(api.url, ADD_DECISION, { input: variant }),
      );
      expect(codeOf(res)).toBe("CONFLICT");
    }
  });

  it("answers CONFLICT and writes nothing for the same id and option ids with a different option content", async () => {
    const optionIds = [randomUUID(), randomUUID()];
    const { workflowId, input } = await decided([
      { id: optionIds[0], content: "a" },
      { id: optionIds[1], content: "b" },
    ]);
    const res = await expectNothingWritten(driver, [workflowId], [], () =>
      checkedGql(api.url, ADD_DECISION, {
        input: { ...input, options: [input.options[0], { id: optionIds[1], content: "B!" }] },
      }),
    );
    expect(codeOf(res)).toBe("CONFLICT");
  });

  it("answers CONFLICT and writes nothing for the same id with a different content", async () => {
    const { workflowId, input } = await decided([{ id: randomUUID(), content: "a" }]);
    const res = await expectNothingWritten(driver, [workflowId], [], () =>
      checkedGql(api.url, ADD_DECISION, { input: { ...input, content: "Which, really?" } }),
    );
    expect(codeOf(res)).toBe("CONFLICT");
    expect(res.errors![0].extensions).toMatchObject({ differing: ["content"] });
  });
});
