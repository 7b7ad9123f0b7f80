import { randomBytes } from "node:crypto";
import { signToken, type TokenClaims } from "../src/auth/sign-token";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { codeOf, createCallers, type Callers } from "./support/callers";
import { disposeAll, eventually, onDispose, startApp, subscribe } from "./support/harness";
import type { RunningApp } from "./support/harness";
import { openEventStream } from "./support/sse-stream";

/**
 * Branch visibility and node redaction end to end, with authentication on. ana owns a workflow with
 * a secret branch (restricted to carol) and a fork of it, and a private node (restricted to ana and
 * the ops group). ben may write the workflow but is in neither list; carol (in ops) is in both. Every
 * read path must show ben the workflow without the secret branches and with the private node
 * redacted, show carol everything, and keep the two apart when they hold the same subscription.
 */

const SECRET = randomBytes(32).toString("hex");
const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
const BEN: TokenClaims = { sub: "ben", roles: ["writer"] };
const CAROL: TokenClaims = { sub: "carol", roles: ["reader"], groups: ["ops"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };

let api: RunningApp;
let as: Callers;
beforeAll(async () => {
  api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
  });
  as = createCallers(api, SECRET, onDispose);
});
afterAll(disposeAll);

const GRANT = `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`;
const VISIBILITY = /* GraphQL */ `
  mutation ($input: SetBranchVisibilityInput!) {
    setBranchVisibility(input: $input) {
      id
      restrictedTo
    }
  }
`;
const ADD_DECISION = `mutation ($input: AddDecisionInput!) { addDecision(input: $input) { id options { id branchId } } }`;
const CHOOSE = `mutation ($input: ChooseOptionInput!) { chooseOption(input: $input) { id } }`;
const ADD_MONITOR = `mutation ($input: AddMonitorInput!) { addMonitor(input: $input) { id } }`;

async function append(
  who: TokenClaims,
  workflowId: string,
  parentId: string,
  content: string,
  extra: Record<string, unknown> = {},
) {
  const data = await as.ok(who, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content, ...extra } });
  return data.appendNode as { id: string; seq: number; branchId: string };
}

interface Story {
  workflowId: string;
  rootId: string;
  mainId: string;
  /** On main. */
  m1: string;
  /** The secret branch (restricted to carol): s1 → s2, and its fork s3. */
  secretBranch: string;
  forkBranch: string;
  s1: string;
  s2: string;
  s3: string;
  /** On main, restricted to ana and group:ops. */
  privateNode: string;
  decisionId: string;
  /** The decision's new option (visible) and its branch. */
  o1: string;
  o1Branch: string;
  monitorId: string;
}

/** ana's workflow as described above; ben has WRITE, group:ops READ. */
async function story(): Promise<Story> {
  const started = await as.ok(ANA, START_WORKFLOW, { input: { name: "visibility", systemPrompt: "shared work" } });
  const workflowId = started.startWorkflow.id as string;
  const rootId = started.startWorkflow.root.id as string;
  const mainId = started.startWorkflow.root.branchId as string;
  const m1 = await append(ANA, workflowId, rootId, "public step");
  const s1 = await append(ANA, workflowId, rootId, "secret plan");
  const s2 = await append(ANA, workflowId, s1.id, "secret detail");
  const s3 = await append(ANA, workflowId, s1.id, "secret fork");
  expect(s1.branchId).not.toBe(mainId);
  expect(s2.branchId).toBe(s1.branchId);
  expect(s3.branchId).not.toBe(s1.branchId);
  const privateNode = await append(ANA, workflowId, m1.id, "private note", {
    metadata: { salary: 1 },
    restrictedTo: ["group:ops", "ana"],
  });
  const decision = await as.ok(ANA, ADD_DECISION, {
    input: {
      workflowId,
      parentId: privateNode.id,
      content: "which plan?",
      options: [{ content: "the open one" }, { existingNodeId: s2.id }],
    },
  });
  const decisionId = decision.addDecision.id as string;
  // `options` is in no guaranteed order: the new option is the one that is not s2.
  const o1 = (decision.addDecision.options as { id: string; branchId: string }[]).find((o) => o.id !== s2.id)!;
  await as.ok(ANA, CHOOSE, { input: { decisionId, optionId: s2.id, reason: "secret wins" } });
  const monitor = await as.ok(ANA, ADD_MONITOR, {
    input: { workflowId, parentId: decisionId, content: "watch both", targetIds: [s1.id, m1.id] },
  });
  const restricted = await as.ok(ANA, VISIBILITY, {
    input: { branchId: s1.branchId, restrictedTo: ["carol", "carol"] },
  });
  expect(restricted.setBranchVisibility.restrictedTo).toEqual(["carol"]);
  await as.ok(ANA, GRANT, { input: { workflowId, principal: "ben", access: "WRITE" } });
  await as.ok(ANA, GRANT, { input: { workflowId, principal: "group:ops", access: "READ" } });
  return {
    workflowId,
    rootId,
    mainId,
    m1: m1.id,
    secretBranch: s1.branchId,
    forkBranch: s3.branchId,
    s1: s1.id,
    s2: s2.id,
    s3: s3.id,
    privateNode: privateNode.id,
    decisionId,
    o1: o1.id,
    o1Branch: o1.branchId,
    monitorId: monitor.addMonitor.id,
  };
}

const READ_ALL = /* GraphQL */ `
  query ($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      nodeCount
      mermaid
      root {
        children {
          id
        }
      }
      branches {
        id
        summary
      }
    }
    workflowNodes(where: { workflowId: { eq: $id } }, sort: [{ seq: ASC }]) {
      id
      content
      metadata
      redacted
      restrictedTo
      writtenBy
      options {
        id
      }
      chosenOption {
        id
      }
      monitors {
        id
      }
    }
    branches(where: { workflowId: { eq: $id } }) {
      id
    }
    history(workflowId: $id) {
      edges {
        node {
          id
          content
        }
      }
    }
    workflowEvents(workflowId: $id) {
      seq
      kind
      node {
        id
      }
      branch {
        id
      }
      option {
        id
      }
    }
    decisionPoints(workflowId: $id) {
      decision {
        id
      }
      options {
        id
      }
      chosen {
        id
      }
    }
    crossBranchMonitors(workflowId: $id) {
      target {
        id
      }
    }
  }
`;

const AT = /* GraphQL */ `
  query ($id: ID!, $seq: Int!) {
    workflowAt(workflowId: $id, seq: $seq) {
      nodes {
        id
        content
      }
      branches {
        branch {
          id
        }
      }
      decisions {
        options {
          id
        }
        chosen {
          id
        }
      }
      monitors {
        target {
          id
        }
      }
    }
  }
`;

describe("branch visibility and node redaction", () => {
  let s: Story;
  beforeAll(async () => {
    s = await story();
  });

  it("shows ben the workflow without the secret branch, its fork and their nodes, in every query", async () => {
    const bens = await as.ok(BEN, READ_ALL, { id: s.workflowId });
    const carols = await as.ok(CAROL, READ_ALL, { id: s.workflowId });
    const secret = [s.s1, s.s2, s.s3];
    const ids = (nodes: { id: string }[]) => nodes.map((n) => n.id);

    // carol (in the branch's list) sees all nine nodes; ben six.
    expect(carols.workflows[0].nodeCount).toBe(9);
    expect(bens.workflows[0].nodeCount).toBe(6);
    expect(ids(carols.workflowNodes)).toEqual(expect.arrayContaining(secret));
    expect(ids(bens.workflowNodes)).toHaveLength(6);
    expect(ids(bens.workflowNodes)).not.toEqual(expect.arrayContaining([s.s1]));
    expect(ids(bens.workflowNodes).filter((id) => secret.includes(id))).toEqual([]);
    expect(ids(bens.history.edges.map((e: { node: { id: string } }) => e.node))).toEqual(ids(bens.workflowNodes));
    expect(ids(bens.workflows[0].root.children).sort()).toEqual([s.m1]);
    expect(ids(carols.workflows[0].root.children).sort()).toEqual([s.m1, s.s1].sort());

    const branchIds = (data: Record<string, any>) => ids(data.branches);
    expect(branchIds(bens)).not.toContain(s.secretBranch);
    expect(branchIds(bens)).not.toContain(s.forkBranch);
    expect(ids(bens.workflows[0].branches)).toEqual(expect.not.arrayContaining([s.secretBranch, s.forkBranch]));
    expect(branchIds(carols)).toEqual(expect.arrayContaining([s.secretBranch, s.forkBranch]));

    // The decision offers an open option and a secret node, and the secret one was chosen.
    const decisionOf = (data: Record<string, any>) =>
      data.workflowNodes.find((n: { id: string }) => n.id === s.decisionId);
    expect(ids(decisionOf(bens).options)).toEqual([s.o1]);
    expect(decisionOf(bens).chosenOption).toBeNull();
    expect(decisionOf(carols).chosenOption).toEqual({ id: s.s2 });
    expect(bens.decisionPoints).toEqual([{ decision: { id: s.decisionId }, options: [{ id: s.o1 }], chosen: null }]);
    expect(carols.decisionPoints[0].options).toEqual([{ id: s.o1 }, { id: s.s2 }]);

    // The monitor watches a secret node and a public one.
    const monitorOf = (data: Record<string, any>) =>
      data.workflowNodes.find((n: { id: string }) => n.id === s.monitorId);
    expect(ids(monitorOf(bens).monitors)).toEqual([s.m1]);
    expect(bens.crossBranchMonitors).toEqual([]);
    expect(carols.crossBranchMonitors).toEqual([{ target: { id: s.s1 } }]);

    // The event log skips the secret branch's events; OPTION_CHOSEN stays, without its option.
    const seqs = (data: Record<string, any>) => data.workflowEvents.map((e: { seq: number }) => e.seq);
    expect(seqs(carols)).toHaveLength(seqs(bens).length + 4);
    const eventNodes = bens.workflowEvents.flatMap((e: { node: { id: string } | null }) => (e.node ? [e.node.id] : []));
    expect(eventNodes.filter((id: string) => secret.includes(id))).toEqual([]);
    expect(bens.workflowEvents.map((e: { kind: string }) => e.kind)).not.toContain("BRANCH_VISIBILITY_CHANGED");
    const chosen = bens.workflowEvents.find((e: { kind: string }) => e.kind === "OPTION_CHOSEN");
    expect(chosen.option).toBeNull();
    expect(carols.workflowEvents.find((e: { kind: string }) => e.kind === "OPTION_CHOSEN").option).toEqual({
      id: s.s2,
    });

    // Charts and summaries leave the secret out too.
    expect(bens.workflows[0].mermaid).not.toContain("secret");
    expect(carols.workflows[0].mermaid).toContain("secret plan");
  });

  it("answers history alone (access checked in the page's own statement) as it does beside other reads", async () => {
    const HISTORY = `query ($id: ID!, $where: HistoryWhere) { history(workflowId: $id, where: $where) { edges { node { id content } } } }`;
    const BRIEF = `query ($id: ID!, $where: HistoryWhere) { history(workflowId: $id, where: $where) { edges { node { id seq } } } }`;
    const seqs = (data: Record<string, any>) => data.history.edges.map((e: { node: { seq: number } }) => e.node.seq);
    for (const who of [BEN, CAROL, ANA, ADMIN]) {
      const alone = await as.ok(who, HISTORY, { id: s.workflowId });
      const beside = await as.ok(who, READ_ALL, { id: s.workflowId });
      expect(alone.history).toEqual(beside.history);
    }
    // ben and carol see different pages: ben six nodes, the private one redacted; carol nine.
    const bens = await as.ok(BEN, HISTORY, { id: s.workflowId });
    const carols = await as.ok(CAROL, HISTORY, { id: s.workflowId });
    const nodeIds = (data: Record<string, any>) => data.history.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(nodeIds(bens)).toHaveLength(6);
    expect(nodeIds(carols)).toHaveLength(9);
    expect(nodeIds(bens)).toEqual(expect.not.arrayContaining([s.s1]));
    expect(nodeIds(bens)).toEqual(expect.not.arrayContaining([s.s2]));
    expect(
      bens.history.edges.find((e: { node: { id: string } }) => e.node.id === s.privateNode).node.content,
    ).toBeNull();
    // Stored fields of unrestricted nodes are answered by the page's statement alone.
    const secret = { id: s.workflowId, where: { branchId: s.secretBranch } };
    expect((await as.ok(BEN, BRIEF, secret)).history.edges).toEqual([]);
    expect(seqs(await as.ok(CAROL, BRIEF, secret)).length).toBeGreaterThan(0);
    expect(seqs(await as.ok(ANA, BRIEF, secret))).toEqual(seqs(await as.ok(CAROL, BRIEF, secret)));
    // Someone with no grant finds no workflow.
    const dave = await as.post({ sub: "dave", roles: ["reader"] }, BRIEF, { id: s.workflowId });
    expect(codeOf(dave)).toBe("NOT_FOUND");
    expect(dave.data?.history ?? null).toBeNull();
  });

  it("reads a page of history alone in one round trip to Neo4j (two beside another read)", async () => {
    const reads = async () =>
      [
        ...(await api.app.metrics.render()).matchAll(
          /^workflow_graph_neo4j_transaction_duration_seconds_count\{[^}]*mode="read"[^}]*\} (\d+)$/gm,
        ),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
    const BRIEF = `query ($id: ID!, $b: ID!) { history(workflowId: $id, where: { branchId: $b }) { edges { node { id seq } } } }`;
    for (const who of [BEN, ADMIN]) {
      const before = await reads();
      for (let i = 0; i < 5; i++) await as.ok(who, BRIEF, { id: s.workflowId, b: s.secretBranch });
      expect((await reads()) - before).toBe(5);
    }
    // With a read that needs the caller's view beside it, the view is looked up first.
    const before = await reads();
    await as.ok(
      BEN,
      `query ($id: ID!) { history(workflowId: $id, first: 1) { edges { node { id } } } workflows(where: { id: { eq: $id } }) { id } }`,
      { id: s.workflowId },
    );
    expect((await reads()) - before).toBeGreaterThanOrEqual(2);
  });

  it("redacts the private node's content and metadata for ben, not for carol (ops), ana or an admin", async () => {
    const nodeOf = async (who: TokenClaims) =>
      (await as.ok(who, READ_ALL, { id: s.workflowId })).workflowNodes.find(
        (n: { id: string }) => n.id === s.privateNode,
      );
    expect(await nodeOf(BEN)).toMatchObject({
      content: null,
      metadata: null,
      redacted: true,
      restrictedTo: [],
      writtenBy: "ana",
    });
    for (const who of [CAROL, ANA, ADMIN]) {
      expect(await nodeOf(who)).toMatchObject({
        content: "private note",
        metadata: { salary: 1 },
        redacted: false,
        restrictedTo: ["ana", "group:ops"],
      });
    }
    const bens = await as.ok(BEN, READ_ALL, { id: s.workflowId });
    expect(bens.workflows[0].mermaid).not.toContain("private note");
    expect(bens.workflows[0].mermaid).toContain("[redacted]");
    const mainSummary = (data: Record<string, any>) =>
      data.workflows[0].branches.find((b: { id: string }) => b.id === s.mainId).summary as string;
    expect(mainSummary(bens)).toContain("MESSAGE: [redacted]");
    expect(mainSummary(bens)).not.toContain("private note");
    expect(mainSummary(await as.ok(CAROL, READ_ALL, { id: s.workflowId }))).toContain("private note");
    const historyNode = bens.history.edges.find((e: { node: { id: string } }) => e.node.id === s.privateNode);
    expect(historyNode.node.content).toBeNull();
  });

  it("gives each caller pathToRoot without hidden steps and with restricted content redacted, in one read or through the loader", async () => {
    const PATHS = /* GraphQL */ `
      query ($id: ID!) {
        workflowNodes(where: { workflowId: { eq: $id } }, sort: [{ seq: ASC }], limit: 20) {
          id
          timestamp
          pathToRoot {
            id
            content
            metadata
            redacted
          }
          stamps: pathToRoot {
            timestamp
          }
          withParents: pathToRoot {
            id
            content
            parent {
              id
            }
          }
        }
      }
    `;
    type Step = {
      id: string;
      content: string | null;
      metadata?: unknown;
      redacted?: boolean;
      parent?: { id: string } | null;
    };
    const pathsOf = async (who: TokenClaims) => {
      const data = await as.ok(who, PATHS, { id: s.workflowId });
      return new Map(
        (
          data.workflowNodes as {
            id: string;
            timestamp: string;
            pathToRoot: Step[];
            withParents: Step[];
            stamps: { timestamp: string }[];
          }[]
        ).map((n) => [n.id, n]),
      );
    };
    const ids = (steps: Step[]) => steps.map((step) => step.id);
    const bens = await pathsOf(BEN);
    const carols = await pathsOf(CAROL);
    const secret = [s.s1, s.s2, s.s3];

    // carol follows the secret branch and its fork; ben cannot read their nodes, nor any step of them.
    expect(ids(carols.get(s.s2)!.pathToRoot)).toEqual([s.rootId, s.s1, s.s2]);
    expect(ids(carols.get(s.s3)!.withParents)).toEqual([s.rootId, s.s1, s.s3]);
    expect(carols.get(s.s3)!.withParents.map((step) => step.parent?.id ?? null)).toEqual([null, s.rootId, s.s1]);
    for (const id of secret) expect(bens.has(id)).toBe(false);
    for (const node of bens.values()) {
      expect(ids(node.pathToRoot).filter((id) => secret.includes(id))).toEqual([]);
      expect(ids(node.withParents)).toEqual(ids(node.pathToRoot));
    }

    // The decision's path crosses the private node: redacted for ben, readable for carol.
    const expected = [s.rootId, s.m1, s.privateNode, s.decisionId];
    expect(ids(bens.get(s.decisionId)!.pathToRoot)).toEqual(expected);
    expect(ids(carols.get(s.decisionId)!.pathToRoot)).toEqual(expected);
    expect(bens.get(s.decisionId)!.pathToRoot[2]).toEqual({
      id: s.privateNode,
      content: null,
      metadata: null,
      redacted: true,
    });
    expect(bens.get(s.decisionId)!.withParents[2]).toEqual({ id: s.privateNode, content: null, parent: { id: s.m1 } });
    expect(carols.get(s.decisionId)!.pathToRoot[2]).toEqual({
      id: s.privateNode,
      content: "private note",
      metadata: { salary: 1 },
      redacted: false,
    });
    expect(carols.get(s.decisionId)!.withParents[2].content).toBe("private note");
    // Each step's timestamp reads as the node's own does (ISO-8601 from the library's DateTime).
    for (const node of carols.values()) {
      expect(node.stamps.map((step) => step.timestamp)).toEqual(
        ids(node.pathToRoot).map((id) => carols.get(id)!.timestamp),
      );
    }
    expect(bens.get(s.decisionId)!.pathToRoot[1]).toEqual({
      id: s.m1,
      content: "public step",
      metadata: null,
      redacted: false,
    });
  });

  it("keeps time travel to the same rules", async () => {
    const last = (await as.ok(ADMIN, `query ($id: ID!) { workflows(where: { id: { eq: $id } }) { lastSeq } }`, {
      id: s.workflowId,
    })) as { workflows: { lastSeq: number }[] };
    const seq = last.workflows[0].lastSeq;
    const bens = (await as.ok(BEN, AT, { id: s.workflowId, seq })).workflowAt;
    const carols = (await as.ok(CAROL, AT, { id: s.workflowId, seq })).workflowAt;
    expect(bens.nodes).toHaveLength(6);
    expect(carols.nodes).toHaveLength(9);
    expect(bens.nodes.find((n: { id: string }) => n.id === s.privateNode).content).toBeNull();
    const branchIds = (at: Record<string, any>) => at.branches.map((b: { branch: { id: string } }) => b.branch.id);
    expect(branchIds(bens)).not.toContain(s.secretBranch);
    expect(branchIds(carols)).toContain(s.secretBranch);
    expect(bens.decisions).toEqual([{ options: [{ id: s.o1 }], chosen: null }]);
    expect(bens.monitors).toEqual([{ target: { id: s.m1 } }]);
  });

  it("answers ben's writes into the secret branch NOT_FOUND and his visibility changes FORBIDDEN, writing nothing", async () => {
    const before = await as.ok(ADMIN, READ_ALL, { id: s.workflowId });
    const under = await as.post(BEN, APPEND_NODE, {
      input: { workflowId: s.workflowId, parentId: s.s2, type: "MESSAGE", content: "peek" },
    });
    expect(codeOf(under)).toBe("NOT_FOUND");
    expect(under.errors![0].message).not.toContain(s.workflowId);
    const named = await as.post(BEN, APPEND_NODE, {
      input: { workflowId: s.workflowId, parentId: s.rootId, type: "MESSAGE", content: "peek", branchId: s.forkBranch },
    });
    expect(codeOf(named)).toBe("NOT_FOUND");
    expect(codeOf(await as.post(BEN, CHOOSE, { input: { decisionId: s.decisionId, optionId: s.s2 } }))).toBe(
      "NOT_FOUND",
    );
    const watch = { workflowId: s.workflowId, parentId: s.m1, content: "w", targetIds: [s.s3] };
    expect(codeOf(await as.post(BEN, ADD_MONITOR, { input: watch }))).toBe("NOT_FOUND");
    expect(codeOf(await as.post(BEN, VISIBILITY, { input: { branchId: s.secretBranch } }))).toBe("NOT_FOUND");
    expect(codeOf(await as.post(BEN, VISIBILITY, { input: { branchId: s.o1Branch, restrictedTo: ["ben"] } }))).toBe(
      "FORBIDDEN",
    );
    expect(codeOf(await as.post(ANA, VISIBILITY, { input: { branchId: s.mainId, restrictedTo: ["ana"] } }))).toBe(
      "BAD_USER_INPUT",
    );
    expect(await as.ok(ADMIN, READ_ALL, { id: s.workflowId })).toEqual(before);
  });

  it("delivers the same subscription to ben and carol each as they may see it, and follows a change live", async () => {
    const w = await story();
    const NODE_ADDED = /* GraphQL */ `
      subscription ($id: ID!) {
        nodeAdded(workflowId: $id) {
          id
          content
          redacted
        }
      }
    `;
    const EVENTS = /* GraphQL */ `
      subscription ($id: ID!) {
        workflowEvents(workflowId: $id) {
          seq
          kind
          node {
            id
          }
          branch {
            id
            restrictedTo
          }
        }
      }
    `;
    const bensNodes = subscribe(await as.client(BEN), NODE_ADDED, { id: w.workflowId });
    const carolsNodes = subscribe(await as.client(CAROL), NODE_ADDED, { id: w.workflowId });
    const bensEvents = subscribe(await as.client(BEN), EVENTS, { id: w.workflowId });
    const carolsEvents = subscribe(await as.client(CAROL), EVENTS, { id: w.workflowId });
    const activity = subscribe(
      await as.client(BEN),
      `subscription ($id: ID!) { monitoredActivity(monitorId: $id) { id } }`,
      { id: w.monitorId },
    );
    await eventually(() => api.app.liveSubscribers(w.workflowId) >= 5);

    const hidden = await append(ANA, w.workflowId, w.s2, "more secret");
    // Under the monitor, main's head: both continue main.
    const redacted = await append(ANA, w.workflowId, w.monitorId, "for ana", { restrictedTo: ["ana"] });
    const open = await append(ANA, w.workflowId, redacted.id, "for all");
    expect(await carolsNodes.next()).toEqual({ nodeAdded: { id: hidden.id, content: "more secret", redacted: false } });
    expect(await carolsNodes.next()).toEqual({ nodeAdded: { id: redacted.id, content: null, redacted: true } });
    expect(await bensNodes.next()).toEqual({ nodeAdded: { id: redacted.id, content: null, redacted: true } });
    expect(await bensNodes.next()).toEqual({ nodeAdded: { id: open.id, content: "for all", redacted: false } });
    expect(await carolsNodes.next()).toEqual({ nodeAdded: { id: open.id, content: "for all", redacted: false } });
    // monitoredActivity watches the secret branch (s1's) and main: ben gets only main's nodes.
    expect((await activity.next()).monitoredActivity.id).toBe(redacted.id);
    expect((await activity.next()).monitoredActivity.id).toBe(open.id);

    // ana restricts the open option's branch to carol: ben stops seeing it at once.
    await as.ok(ANA, VISIBILITY, { input: { branchId: w.o1Branch, restrictedTo: ["carol"] } });
    const onOption = await append(ANA, w.workflowId, w.o1, "now for carol");
    // ana lifts the secret branch's restriction: ben sees the change and what follows.
    await as.ok(ANA, VISIBILITY, { input: { branchId: w.secretBranch, restrictedTo: null } });
    const lifted = await append(ANA, w.workflowId, hidden.id, "no longer secret");

    expect((await carolsNodes.next()).nodeAdded.id).toBe(onOption.id);
    expect((await carolsNodes.next()).nodeAdded.id).toBe(lifted.id);
    expect((await bensNodes.next()).nodeAdded.id).toBe(lifted.id);

    const kinds = async (sub: ReturnType<typeof subscribe>, count: number) => {
      const seen: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const { workflowEvents: e } = (await sub.next()) as { workflowEvents: Record<string, any> };
        seen.push(`${e.kind}:${e.node?.id ?? e.branch?.id}`);
      }
      return seen;
    };
    expect(await kinds(carolsEvents, 7)).toEqual([
      `NODE_ADDED:${hidden.id}`,
      `NODE_ADDED:${redacted.id}`,
      `NODE_ADDED:${open.id}`,
      `BRANCH_VISIBILITY_CHANGED:${w.o1Branch}`,
      `NODE_ADDED:${onOption.id}`,
      `BRANCH_VISIBILITY_CHANGED:${w.secretBranch}`,
      `NODE_ADDED:${lifted.id}`,
    ]);
    expect(await kinds(bensEvents, 4)).toEqual([
      `NODE_ADDED:${redacted.id}`,
      `NODE_ADDED:${open.id}`,
      `BRANCH_VISIBILITY_CHANGED:${w.secretBranch}`,
      `NODE_ADDED:${lifted.id}`,
    ]);
    // Nothing else reached ben.
    await expect(bensNodes.next(500)).rejects.toThrow(/no event/);
    await expect(bensEvents.next(500)).rejects.toThrow(/no event/);
  });

  it("streams over SSE to ben and carol each as they may see it", async () => {
    const w = await story();
    const query = `subscription ($id: ID!) { nodeAdded(workflowId: $id) { id content redacted } }`;
    const url = `${api.origin}/graphql/stream?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(
      JSON.stringify({ id: w.workflowId }),
    )}`;
    const streamOf = async (who: TokenClaims) =>
      openEventStream(url, { headers: { authorization: `Bearer ${await signToken(SECRET, who)}` } }, onDispose);
    const bens = await streamOf(BEN);
    const carols = await streamOf(CAROL);
    expect([bens.status, carols.status]).toEqual([200, 200]);
    await eventually(() => api.app.liveSubscribers(w.workflowId) >= 2);

    const hidden = await append(ANA, w.workflowId, w.s2, "more secret");
    const redacted = await append(ANA, w.workflowId, w.monitorId, "for ana", { restrictedTo: ["ana"] });
    const open = await append(ANA, w.workflowId, redacted.id, "for all");
    const added = (stream: typeof bens) =>
      stream.events.filter((e) => e.event === "next").map((e) => e.data.data.nodeAdded);
    await carols.until(3);
    expect(added(carols)).toEqual([
      { id: hidden.id, content: "more secret", redacted: false },
      { id: redacted.id, content: null, redacted: true },
      { id: open.id, content: "for all", redacted: false },
    ]);
    await bens.until(2);
    // The open node is the last event appended: once ben has it, he had all he was going to get.
    expect(added(bens)).toEqual([
      { id: redacted.id, content: null, redacted: true },
      { id: open.id, content: "for all", redacted: false },
    ]);
  });

  it("replays to ben without the secret branch's events", async () => {
    const w = await story();
    const REPLAY = `subscription ($id: ID!) { replayWorkflow(workflowId: $id, speed: 0) { seq kind node { id } } }`;
    const collect = async (who: TokenClaims) => {
      const sub = subscribe(await as.client(who), REPLAY, { id: w.workflowId });
      const seen: string[] = [];
      for (;;) {
        const next = await sub.next(2000).catch(() => null);
        if (!next) return seen;
        seen.push((next.replayWorkflow.node?.id as string | undefined) ?? next.replayWorkflow.kind);
      }
    };
    const bens = await collect(BEN);
    const carols = await collect(CAROL);
    expect(carols).toEqual(expect.arrayContaining([w.s1, w.s2, w.s3, "BRANCH_VISIBILITY_CHANGED"]));
    expect(bens.filter((x) => [w.s1, w.s2, w.s3, "BRANCH_VISIBILITY_CHANGED"].includes(x))).toEqual([]);
    expect(bens).toEqual(carols.filter((x) => ![w.s1, w.s2, w.s3, "BRANCH_VISIBILITY_CHANGED"].includes(x)));
  });
});
