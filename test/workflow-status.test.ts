import { APPEND_NODE } from "./support/documents";
import {
  disposeAll,
  gql,
  gqlOk,
  newWorkflow,
  startApp,
  subscribe,
  testDriver,
  wsClient,
  type RunningApp,
} from "./support/harness";
import { expectNothingWritten } from "./support/raw";

/**
 * A workflow's whole life: completion, failure with an ERROR node, cancellation, and resuming a
 * failed or cancelled one from a node, each a WORKFLOW_STATUS_CHANGED event with its own seq; an
 * ended workflow takes no new nodes, choices or branches.
 */

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(disposeAll);

const WORKFLOW_FIELDS = `id status endedAt summary error cancelReason lastSeq`;
const COMPLETE = `mutation ($input: CompleteWorkflowInput!) { completeWorkflow(input: $input) { ${WORKFLOW_FIELDS} } }`;
const FAIL = `mutation ($input: FailWorkflowInput!) { failWorkflow(input: $input) { ${WORKFLOW_FIELDS} } }`;
const CANCEL = `mutation ($input: CancelWorkflowInput!) { cancelWorkflow(input: $input) { ${WORKFLOW_FIELDS} } }`;
const RESUME = /* GraphQL */ `
  mutation ($input: ResumeWorkflowInput!) {
    resumeWorkflow(input: $input) {
      id
      name
      status
      forkedFrom {
        id
      }
    }
  }
`;
const WORKFLOW = `query ($id: ID!) { workflows(where: { id: { eq: $id } }) { ${WORKFLOW_FIELDS} branches { id status } } }`;
const EVENTS = `query ($id: ID!, $after: Int) { workflowEvents(workflowId: $id, afterSeq: $after) { seq kind status branch { id status } } }`;

async function append(workflowId: string, parentId: string, content: string, extra: Record<string, unknown> = {}) {
  const data = await gqlOk(api.url, APPEND_NODE, {
    input: { workflowId, parentId, type: "MESSAGE", content, ...extra },
  });
  return data.appendNode as { id: string; seq: number; branchId: string };
}

const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions?.code;

describe("completeWorkflow", () => {
  it("ends the workflow with one event, then refuses every write that adds to it with CONFLICT naming the status", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const step = await append(workflowId, rootId, "done thinking");
    const live = subscribe(
      wsClient(api.wsUrl),
      `subscription ($id: ID!) { workflowEvents(workflowId: $id) { seq kind status } }`,
      {
        id: workflowId,
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    const done = (await gqlOk(api.url, COMPLETE, { input: { workflowId, summary: "all good" } })).completeWorkflow;
    expect(done).toMatchObject({
      status: "COMPLETED",
      summary: "all good",
      error: null,
      cancelReason: null,
      lastSeq: 2,
    });
    expect(Date.parse(done.endedAt)).toBeGreaterThan(Date.now() - 60000);
    expect(await live.next()).toEqual({
      workflowEvents: { seq: 2, kind: "WORKFLOW_STATUS_CHANGED", status: "COMPLETED" },
    });
    const events = (await gqlOk(api.url, EVENTS, { id: workflowId, after: 1 })).workflowEvents;
    expect(events).toEqual([{ seq: 2, kind: "WORKFLOW_STATUS_CHANGED", status: "COMPLETED", branch: null }]);

    const refusals = await expectNothingWritten(testDriver(), [workflowId], [], async () => [
      await gql(api.url, APPEND_NODE, { input: { workflowId, parentId: step.id, type: "MESSAGE", content: "more" } }),
      await gql(api.url, `mutation ($input: ForkBranchInput!) { forkBranch(input: $input) { id } }`, {
        input: { fromNodeId: step.id },
      }),
      await gql(api.url, `mutation ($input: AddDecisionInput!) { addDecision(input: $input) { id } }`, {
        input: { workflowId, parentId: step.id, content: "?", options: [{ content: "a" }] },
      }),
    ]);
    for (const res of refusals) {
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT", status: "COMPLETED" });
    }
  });

  it("is idempotent with the same summary, and any other ending afterwards is a CONFLICT", async () => {
    const { workflowId } = await newWorkflow(api.url);
    await gqlOk(api.url, COMPLETE, { input: { workflowId, summary: "s" } });
    const again = (await gqlOk(api.url, COMPLETE, { input: { workflowId, summary: "s" } })).completeWorkflow;
    expect(again.lastSeq).toBe(1);
    expect(codeOf(await gql(api.url, COMPLETE, { input: { workflowId, summary: "other" } }))).toBe("CONFLICT");
    expect(codeOf(await gql(api.url, CANCEL, { input: { workflowId } }))).toBe("CONFLICT");
    const failed = await gql(api.url, FAIL, { input: { workflowId, error: { message: "late" } } });
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT", status: "COMPLETED" });
    expect(codeOf(await gql(api.url, RESUME, { input: { workflowId, fromNodeId: workflowId } }))).toBe("NOT_FOUND");
  });

  it("answers NOT_FOUND for an unknown workflow", async () => {
    const res = await gql(api.url, COMPLETE, { input: { workflowId: "00000000-0000-4000-8000-000000000000" } });
    expect(codeOf(res)).toBe("NOT_FOUND");
  });
});

describe("failWorkflow and resumeWorkflow", () => {
  it("records the error on an ERROR node, then resumes from an earlier node on a new branch, the failed branch ABANDONED", async () => {
    const { workflowId, rootId, branchId: mainId } = await newWorkflow(api.url);
    const plan = await append(workflowId, rootId, "plan");
    const call = await append(workflowId, plan.id, "call the tool", { type: "ACTION" });
    const errorNode = await append(workflowId, call.id, "tool timed out", { type: "ERROR", metadata: { after: 30 } });
    expect(errorNode.branchId).toBe(mainId);
    const failed = (
      await gqlOk(api.url, FAIL, {
        input: {
          workflowId,
          error: { message: "tool timed out", code: "TIMEOUT", nodeId: errorNode.id, details: { s: 30 } },
        },
      })
    ).failWorkflow;
    expect(failed).toMatchObject({
      status: "FAILED",
      error: { message: "tool timed out", code: "TIMEOUT", nodeId: errorNode.id, details: { s: 30 } },
      lastSeq: 4,
    });
    expect(failed.endedAt).not.toBeNull();
    expect(codeOf(await gql(api.url, COMPLETE, { input: { workflowId } }))).toBe("CONFLICT");

    const resumed = (await gqlOk(api.url, RESUME, { input: { workflowId, fromNodeId: plan.id, name: "retry" } }))
      .resumeWorkflow;
    expect(resumed).toMatchObject({ name: "retry", status: "ACTIVE", forkedFrom: { id: plan.id } });
    const after = (await gqlOk(api.url, WORKFLOW, { id: workflowId })).workflows[0];
    // RUNNING again; the error stays as the last failure.
    expect(after).toMatchObject({ status: "RUNNING", endedAt: null, error: { code: "TIMEOUT" }, lastSeq: 7 });
    const statusOf = (id: string) => after.branches.find((b: { id: string }) => b.id === id).status;
    expect(statusOf(mainId)).toBe("ABANDONED");
    expect(statusOf(resumed.id)).toBe("ACTIVE");
    const events = (await gqlOk(api.url, EVENTS, { id: workflowId, after: 3 })).workflowEvents;
    expect(events.map((e: { seq: number; kind: string }) => `${e.seq} ${e.kind}`)).toEqual([
      "4 WORKFLOW_STATUS_CHANGED",
      "5 WORKFLOW_STATUS_CHANGED",
      "6 BRANCH_STATUS_CHANGED",
      "7 BRANCH_CREATED",
    ]);
    expect(events[1].status).toBe("RUNNING");

    // The same resume again returns the same branch and writes nothing; another is a CONFLICT.
    const again = (await gqlOk(api.url, RESUME, { input: { workflowId, fromNodeId: plan.id, name: "retry" } }))
      .resumeWorkflow;
    expect(again.id).toBe(resumed.id);
    expect((await gqlOk(api.url, WORKFLOW, { id: workflowId })).workflows[0].lastSeq).toBe(7);
    const other = await gql(api.url, RESUME, { input: { workflowId, fromNodeId: rootId } });
    expect(other.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT", status: "RUNNING" });

    // Work goes on on the new branch.
    const next = await append(workflowId, plan.id, "call it again", { branchId: resumed.id });
    expect(next.branchId).toBe(resumed.id);
  });

  it("refuses a failed node of another workflow (BAD_USER_INPUT) or an unknown one (NOT_FOUND), writing nothing", async () => {
    const { workflowId } = await newWorkflow(api.url);
    const { rootId: elsewhere } = await newWorkflow(api.url);
    await expectNothingWritten(testDriver(), [workflowId], [], async () => {
      const foreign = await gql(api.url, FAIL, { input: { workflowId, error: { message: "x", nodeId: elsewhere } } });
      expect(codeOf(foreign)).toBe("BAD_USER_INPUT");
      const unknown = await gql(api.url, FAIL, {
        input: { workflowId, error: { message: "x", nodeId: "00000000-0000-4000-8000-000000000000" } },
      });
      expect(codeOf(unknown)).toBe("NOT_FOUND");
      expect(codeOf(await gql(api.url, FAIL, { input: { workflowId, error: { message: " " } } }))).toBe(
        "BAD_USER_INPUT",
      );
    });
  });

  it("cancels with a reason and resumes a cancelled workflow; a completed one cannot be resumed", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const step = await append(workflowId, rootId, "started");
    const cancelled = (await gqlOk(api.url, CANCEL, { input: { workflowId, reason: "user stopped it" } }))
      .cancelWorkflow;
    expect(cancelled).toMatchObject({ status: "CANCELLED", cancelReason: "user stopped it" });
    const resumed = (await gqlOk(api.url, RESUME, { input: { workflowId, fromNodeId: step.id } })).resumeWorkflow;
    expect(resumed.forkedFrom).toEqual({ id: step.id });
    expect((await gqlOk(api.url, WORKFLOW, { id: workflowId })).workflows[0].status).toBe("RUNNING");

    const { workflowId: finished, rootId: finishedRoot } = await newWorkflow(api.url);
    await gqlOk(api.url, COMPLETE, { input: { workflowId: finished } });
    const refused = await gql(api.url, RESUME, { input: { workflowId: finished, fromNodeId: finishedRoot } });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT", status: "COMPLETED" });
  });
});
