import { disposeAll, gql, gqlOk, newWorkflow, startApp, wsClient, type RunningApp } from "./support/harness";
import { APPEND_NODE } from "./support/documents";

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(disposeAll);

const append = (workflowId: string, parentId: string, content: string) =>
  gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } }).then((d) => d.appendNode);

/** Runs a subscription to completion and returns everything it delivered, with arrival times. */
function collect(query: string, variables: Record<string, unknown>) {
  return new Promise<{ data: any; t: number }[]>((resolve, reject) => {
    const received: { data: any; t: number }[] = [];
    wsClient(api.wsUrl).subscribe(
      { query, variables },
      {
        next: (value) =>
          value.errors
            ? reject(new Error(JSON.stringify(value.errors)))
            : received.push({ data: value.data, t: performance.now() }),
        error: reject,
        complete: () => resolve(received),
      },
    );
  });
}

const REPLAY = /* GraphQL */ `
  subscription ($w: ID!, $from: Int, $to: Int, $speed: Float) {
    replayWorkflow(workflowId: $w, fromSeq: $from, toSeq: $to, speed: $speed) {
      seq
      kind
      at
      node {
        content
      }
    }
  }
`;

describe("replayWorkflow", () => {
  it("streams the stored events of a range in seq order, then completes", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    let parent = rootId;
    for (let i = 1; i <= 6; i++) parent = (await append(workflowId, parent, `step ${i}`)).id;
    const events = await collect(REPLAY, { w: workflowId, from: 2, to: 5, speed: 0 });
    expect(events.map((e) => [e.data.replayWorkflow.seq, e.data.replayWorkflow.node.content])).toEqual([
      [2, "step 2"],
      [3, "step 3"],
      [4, "step 4"],
      [5, "step 5"],
    ]);
    const all = await collect(REPLAY, { w: workflowId, speed: 0 });
    expect(all.map((e) => e.data.replayWorkflow.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("spaces events by their original time gaps divided by speed", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const a = await append(workflowId, rootId, "a");
    await new Promise((r) => setTimeout(r, 800)); // the recorded gap between the two events
    await append(workflowId, a.id, "b");
    const events = await collect(REPLAY, { w: workflowId, from: 1, speed: 4 });
    expect(events).toHaveLength(2);
    const recorded = Date.parse(events[1].data.replayWorkflow.at) - Date.parse(events[0].data.replayWorkflow.at);
    expect(recorded).toBeGreaterThanOrEqual(800);
    // A quarter of the recorded gap: more than 3/4 of it (timer slack), less than half of it (so
    // the speed was applied, not ignored).
    const gap = events[1].t - events[0].t;
    expect(gap).toBeGreaterThanOrEqual((recorded / 4) * 0.75);
    expect(gap).toBeLessThan(recorded / 2);
  });

  it("rejects a negative speed", async () => {
    const { workflowId } = await newWorkflow(api.url);
    await expect(collect(REPLAY, { w: workflowId, speed: -1 })).rejects.toThrow(/BAD_USER_INPUT/);
  });
});

describe("workflowAt", () => {
  it("shows the workflow as it stood right after an event: nodes, branches, choices, monitors", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const a = await append(workflowId, rootId, "a"); // 1
    const decision = (
      await gqlOk(
        api.url,
        `mutation($i: AddDecisionInput!) { addDecision(input: $i) { id options { id content branchId } } }`,
        { i: { workflowId, parentId: a.id, content: "pick", options: [{ content: "x" }, { content: "y" }] } },
      )
    ).addDecision; // 2, 3, 4
    const x = decision.options.find((o: { content: string }) => o.content === "x");
    await gqlOk(api.url, `mutation($i: ChooseOptionInput!) { chooseOption(input: $i) { id } }`, {
      i: { decisionId: decision.id, optionId: x.id },
    }); // 5
    await gqlOk(api.url, `mutation($b: ID!) { setBranchStatus(input: {branchId: $b, status: COMPLETED}) { id } }`, {
      b: branchId,
    }); // 6
    await append(workflowId, x.id, "after x"); // 7

    const at = (seq: number) =>
      gqlOk(
        api.url,
        `query($w: ID!, $s: Int!) { workflowAt(workflowId: $w, seq: $s) {
          seq at nodes { seq content }
          branches { branch { id } status length head { content } }
          decisions { decision { id } options { content } chosen { content } }
          monitors { monitor { id } }
        } }`,
        { w: workflowId, s: seq },
      ).then((d) => d.workflowAt);

    const before = await at(4);
    expect(before.nodes.map((n: { seq: number }) => n.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(before.decisions).toEqual([
      { decision: { id: decision.id }, options: [{ content: "x" }, { content: "y" }], chosen: null },
    ]);
    expect(before.branches).toEqual([
      { branch: { id: branchId }, status: "ACTIVE", length: 3, head: { content: "pick" } },
      expect.objectContaining({ status: "ACTIVE", length: 1 }),
      expect.objectContaining({ status: "ACTIVE", length: 1 }),
    ]);

    const chosen = await at(5);
    expect(chosen.decisions[0].chosen).toEqual({ content: "x" });
    expect(chosen.branches[0].status).toBe("ACTIVE");

    const end = await at(7);
    expect(end.branches[0].status).toBe("COMPLETED");
    const xBranch = end.branches.find((b: { branch: { id: string } }) => b.branch.id === x.branchId);
    expect(xBranch).toMatchObject({ length: 2, head: { content: "after x" } });
    expect(end.nodes.map((n: { seq: number }) => n.seq)).toEqual([0, 1, 2, 3, 4, 7]); // 5 and 6 are not nodes
    expect(Date.parse(end.at)).toBeGreaterThanOrEqual(Date.parse(before.at));
  });

  it("rejects a seq the workflow has not reached (BAD_USER_INPUT) and an unknown workflow (NOT_FOUND)", async () => {
    const { workflowId } = await newWorkflow(api.url);
    const q = `query($w: ID!, $s: Int!) { workflowAt(workflowId: $w, seq: $s) { seq } }`;
    expect((await gql(api.url, q, { w: workflowId, s: 5 })).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const unknown = await gql(api.url, q, { w: "00000000-0000-4000-8000-000000000000", s: 0 });
    expect(unknown.errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });
});
