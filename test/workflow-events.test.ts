import {
  disposeAll,
  eventually,
  gqlOk,
  newWorkflow,
  startApp,
  subscribe,
  wsClient,
  type RunningApp,
} from "./support/harness";
import { APPEND_NODE } from "./support/documents";

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(disposeAll);

const WORKFLOW_EVENTS = /* GraphQL */ `
  subscription ($workflowId: ID!) {
    workflowEvents(workflowId: $workflowId) {
      seq
      kind
      workflowId
      at
      node {
        id
        type
        branchId
        depth
      }
      branch {
        id
        name
        status
      }
      decision {
        id
      }
      option {
        id
        content
      }
    }
  }
`;

const MONITORED = /* GraphQL */ `
  subscription ($monitorId: ID!) {
    monitoredActivity(monitorId: $monitorId) {
      id
      content
      branchId
      pathToRoot {
        seq
      }
    }
  }
`;

/**
 * The scenario of the decisions/branches issue: three branches (and more), two decisions (one
 * cross-branch), a monitor whose subscription receives the monitored branch's nodes and nothing
 * else, and workflowEvents delivering every kind in seq order.
 */
describe("a branching workflow, end to end", () => {
  it("streams every kind of event in seq order and the monitored branch's nodes only", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "scenario");
    const events = subscribe(wsClient(api.wsUrl), WORKFLOW_EVENTS, { workflowId });
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    const append = async (parentId: string, content: string) =>
      (await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } })).appendNode;
    const decide = async (parentId: string, content: string, options: object[]) =>
      (
        await gqlOk(
          api.url,
          `mutation($input: AddDecisionInput!) { addDecision(input: $input) { id options { id content branchId } } }`,
          { input: { workflowId, parentId, content, options } },
        )
      ).addDecision;
    const choose = (decisionId: string, optionId: string) =>
      gqlOk(api.url, `mutation($input: ChooseOptionInput!) { chooseOption(input: $input) { chosenOption { id } } }`, {
        input: { decisionId, optionId, reason: "best fit", agentId: "judge" },
      });

    const a = await append(rootId, "Find a hotel"); // seq 1, main
    const d1 = await decide(a.id, "Which area?", [{ content: "Alfama" }, { content: "Belém" }]); // 2, 3, 4
    const byContent = (content: string) => d1.options.find((o: { content: string }) => o.content === content);
    const [o1, o2] = [byContent("Alfama"), byContent("Belém")];
    expect(new Set([a.branchId, o1.branchId, o2.branchId]).size).toBe(3);
    const x = await append(o1.id, "Alfama hotels"); // 5, branch of o1
    const y = await append(o2.id, "Belém hotels"); // 6, branch of o2
    const monitor = (
      await gqlOk(api.url, `mutation($input: AddMonitorInput!) { addMonitor(input: $input) { id branchId } }`, {
        input: { workflowId, parentId: x.id, content: "Watch Belém", targetIds: [y.id] },
      })
    ).addMonitor; // 7, on o1's branch, watching o2's
    const watched = subscribe(wsClient(api.wsUrl), MONITORED, { monitorId: monitor.id });
    await eventually(() => api.app.liveSubscribers(workflowId) === 2);
    await choose(d1.id, o1.id); // 8
    const d2 = await decide(monitor.id, "Book which?", [{ content: "Hotel A" }, { existingNodeId: y.id }]); // 9, 10
    expect(d2.options.map((o: { id: string }) => o.id)).toContain(y.id);
    await choose(d2.id, y.id); // 11: a cross-branch choice
    const fork = await gqlOk(
      api.url,
      `mutation($n: ID!) { forkBranch(input: {fromNodeId: $n, name: "later"}) { id } }`,
      {
        n: a.id,
      },
    ); // 12
    const z = await append(y.id, "Belém: 3 options"); // 13, o2's branch: the monitor sees it
    await gqlOk(api.url, `mutation($b: ID!) { setBranchStatus(input: {branchId: $b, status: ABANDONED}) { id } }`, {
      b: o1.branchId,
    }); // 14
    const hotelA = d2.options.find((o: { content: string }) => o.content === "Hotel A");
    await append(hotelA.id, "Hotel A is full"); // 15, another branch: not monitored
    await append(monitor.id, "Noted"); // 16, the monitor's own branch: not monitored
    const z2 = await append(z.id, "Belém: booked"); // 17, monitored

    const received = [];
    for (let i = 0; i < 17; i++) received.push((await events.next()).workflowEvents);
    expect(received.map((e) => e.seq)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    expect(received.map((e) => e.kind)).toEqual([
      "NODE_ADDED",
      "DECISION_ADDED",
      "NODE_ADDED",
      "NODE_ADDED",
      "NODE_ADDED",
      "NODE_ADDED",
      "MONITOR_ADDED",
      "OPTION_CHOSEN",
      "DECISION_ADDED",
      "NODE_ADDED",
      "OPTION_CHOSEN",
      "BRANCH_CREATED",
      "NODE_ADDED",
      "BRANCH_STATUS_CHANGED",
      "NODE_ADDED",
      "NODE_ADDED",
      "NODE_ADDED",
    ]);
    expect(received.every((e) => e.workflowId === workflowId && !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(received[1]).toMatchObject({ node: { id: d1.id, type: "DECISION" }, decision: null });
    expect(received[2]).toMatchObject({ node: { id: o1.id, type: "OPTION" }, branch: { id: o1.branchId } });
    expect(received[6]).toMatchObject({ node: { id: monitor.id, type: "MONITOR" } });
    expect(received[7]).toMatchObject({
      node: null,
      decision: { id: d1.id },
      option: { id: o1.id, content: "Alfama" },
    });
    expect(received[10]).toMatchObject({ decision: { id: d2.id }, option: { id: y.id } });
    expect(received[11]).toMatchObject({ branch: { id: fork.forkBranch.id, name: "later", status: "ACTIVE" } });
    expect(received[13]).toMatchObject({ branch: { id: o1.branchId, status: "ABANDONED" } });

    const first = (await watched.next()).monitoredActivity;
    const second = (await watched.next()).monitoredActivity;
    expect(first).toMatchObject({ id: z.id, branchId: o2.branchId });
    expect(first.pathToRoot.map((n: { seq: number }) => n.seq)).toEqual([0, 1, 2, 4, 6, 13]);
    expect(second).toMatchObject({ id: z2.id, content: "Belém: booked" });

    const points = await gqlOk(
      api.url,
      `query($w: ID!) {
        all: decisionPoints(workflowId: $w) { decision { id } options { id } chosen { id } }
        pending: decisionPoints(workflowId: $w, pending: true) { decision { id } }
        monitors: crossBranchMonitors(workflowId: $w) { monitor { id } target { id } }
      }`,
      { w: workflowId },
    );
    expect(points.all).toEqual([
      { decision: { id: d1.id }, options: [{ id: o1.id }, { id: o2.id }], chosen: { id: o1.id } },
      { decision: { id: d2.id }, options: [{ id: hotelA.id }, { id: y.id }], chosen: { id: y.id } }, // as offered
    ]);
    expect(points.pending).toEqual([]);
    expect(points.monitors).toEqual([{ monitor: { id: monitor.id }, target: { id: y.id } }]);

    const { workflows } = await gqlOk(api.url, `query($w: ID!) { workflows(where: {id: {eq: $w}}) { mermaid } }`, {
      w: workflowId,
    });
    const chart: string = workflows[0].mermaid;
    const mid = (id: string) => `n${id.replace(/-/g, "")}`;
    expect(chart.startsWith("flowchart TD\n")).toBe(true);
    expect(chart.match(/^ {2}subgraph /gm)).toHaveLength(5); // main, two options, the monitor's, Hotel A's
    expect(chart).toContain(`${mid(d1.id)}{"2 DECISION: Which area?"}`);
    expect(chart).toContain(`${mid(d1.id)} ==>|chosen| ${mid(o1.id)}`);
    expect(chart).toContain(`${mid(d1.id)} --> ${mid(o2.id)}`);
    expect(chart).toContain(`${mid(d2.id)} ==>|chosen option| ${mid(y.id)}`);
    expect(chart).toContain(`${mid(monitor.id)} -.->|monitors| ${mid(y.id)}`);
    expect(chart).toContain("(abandoned)");
  });
});

describe("Branch.mermaid", () => {
  it("draws the path from the root and the branch's own nodes", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const a = (
      await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "a" } })
    ).appendNode;
    await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId: a.id, type: "MESSAGE", content: "main" } });
    const side = (
      await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId: a.id, type: "ACTION", content: 'say "hi"' } })
    ).appendNode;
    const { branches } = await gqlOk(api.url, `query($b: ID!) { branches(where: {id: {eq: $b}}) { mermaid } }`, {
      b: side.branchId,
    });
    const chart: string = branches[0].mermaid;
    expect(chart).toContain("SYSTEM: You are a test agent.");
    expect(chart).toContain("1 MESSAGE: a");
    expect(chart).toContain("3 ACTION: say #quot;hi#quot;");
    expect(chart).not.toContain("2 MESSAGE: main");
  });
});

describe("a DECISION or MONITOR written by appendNode", () => {
  it("is the same event kind live as in the stored log", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const live = subscribe<{ workflowEvents: { seq: number; kind: string } }>(
      wsClient(api.wsUrl),
      `subscription ($w: ID!) { workflowEvents(workflowId: $w, afterSeq: 0) { seq kind } }`,
      { w: workflowId },
    );
    for (const type of ["DECISION", "MONITOR", "MESSAGE"]) {
      await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId: rootId, type, content: type } });
    }
    const received = [];
    for (let i = 0; i < 3; i++) received.push((await live.next()).workflowEvents);
    const stored = await gqlOk(
      api.url,
      `query ($w: ID!) { workflowEvents(workflowId: $w, afterSeq: 0) { seq kind } }`,
      {
        w: workflowId,
      },
    );
    expect(received).toEqual([
      { seq: 1, kind: "DECISION_ADDED" },
      { seq: 2, kind: "MONITOR_ADDED" },
      { seq: 3, kind: "NODE_ADDED" },
    ]);
    expect(stored.workflowEvents).toEqual(received);
  });
});
