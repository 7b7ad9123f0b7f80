import type { TokenClaims } from "../src/auth/sign-token";
import { APPEND_NODE, GRANT_ACCESS, SET_BRANCH_VISIBILITY, START_WORKFLOW } from "./support/documents";
import type { Callers } from "./support/callers";
import { disposeAll, startAuthenticatedApp, type RunningApp } from "./support/harness";

/**
 * `workflowNodes(where: { id: { eq } }) { pathToRoot { … } }` alone: answered by one statement that
 * checks the caller's access itself (src/graphql/path-to-root-alone.ts), with the same answers as
 * the read that looks the caller's view up first. ana owns a workflow with a secret branch
 * (restricted to carol), a fork of it, and a private node (restricted to ana and group:ops); ben
 * may write the workflow but is in neither list; carol (in ops) is in both; dave has no grant.
 */

const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
const BEN: TokenClaims = { sub: "ben", roles: ["writer"] };
const CAROL: TokenClaims = { sub: "carol", roles: ["reader"], groups: ["ops"] };
const DAVE: TokenClaims = { sub: "dave", roles: ["reader"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };

let api: RunningApp;
let as: Callers;
beforeAll(async () => {
  ({ api, as } = await startAuthenticatedApp());
});
afterAll(disposeAll);

const DELETE = `mutation ($id: ID!) { deleteWorkflow(workflowId: $id) { id } }`;

/** The shape answered alone: only path fields, each step's own fields. */
const ALONE = /* GraphQL */ `
  query ($id: ID!) {
    workflowNodes(where: { id: { eq: $id } }) {
      __typename
      pathToRoot {
        id
        seq
        content
        metadata
        redacted
        timestamp
        branchId
      }
      ids: pathToRoot {
        id
      }
    }
  }
`;
/** The same selection through a fragment: the caller's view is looked up first, then the library reads. */
const BESIDE = /* GraphQL */ `
  query ($id: ID!) {
    workflowNodes(where: { id: { eq: $id } }) {
      ...Path
    }
  }
  fragment Path on WorkflowNode {
    __typename
    pathToRoot {
      id
      seq
      content
      metadata
      redacted
      timestamp
      branchId
    }
    ids: pathToRoot {
      id
    }
  }
`;

interface Story {
  workflowId: string;
  rootId: string;
  m1: string;
  s1: string;
  s2: string;
  s3: string;
  privateNode: string;
  d1: string;
}

async function append(who: TokenClaims, workflowId: string, parentId: string, content: string, extra = {}) {
  const data = await as.ok(who, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content, ...extra } });
  return data.appendNode as { id: string; branchId: string };
}

async function story(name: string): Promise<Story> {
  const started = await as.ok(ANA, START_WORKFLOW, { input: { name, systemPrompt: "shared work" } });
  const workflowId = started.startWorkflow.id as string;
  const rootId = started.startWorkflow.root.id as string;
  const m1 = await append(ANA, workflowId, rootId, "public step");
  const s1 = await append(ANA, workflowId, rootId, "secret plan");
  const s2 = await append(ANA, workflowId, s1.id, "secret detail");
  const s3 = await append(ANA, workflowId, s1.id, "secret fork");
  const privateNode = await append(ANA, workflowId, m1.id, "private note", {
    metadata: { salary: 1 },
    restrictedTo: ["group:ops", "ana"],
  });
  const d1 = await append(ANA, workflowId, privateNode.id, "after the note");
  await as.ok(ANA, SET_BRANCH_VISIBILITY, { input: { branchId: s1.branchId, restrictedTo: ["carol"] } });
  await as.ok(ANA, GRANT_ACCESS, { input: { workflowId, principal: "ben", access: "WRITE" } });
  await as.ok(ANA, GRANT_ACCESS, { input: { workflowId, principal: "group:ops", access: "READ" } });
  return {
    workflowId,
    rootId,
    m1: m1.id,
    s1: s1.id,
    s2: s2.id,
    s3: s3.id,
    privateNode: privateNode.id,
    d1: d1.id,
  };
}

type Step = { id: string; content: string | null; metadata: unknown; redacted: boolean };
const pathOf = async (who: TokenClaims, id: string, query = ALONE) => {
  const data = await as.ok(who, query, { id });
  return data.workflowNodes as { pathToRoot: Step[]; ids: { id: string }[] }[];
};
const ids = (steps: { id: string }[]) => steps.map((s) => s.id);

/** Read transactions the API has run, from its /metrics. */
const reads = async () =>
  [
    ...(await api.app.metrics.render()).matchAll(
      /^workflow_graph_neo4j_transaction_duration_seconds_count\{[^}]*mode="read"[^}]*\} (\d+)$/gm,
    ),
  ].reduce((sum, m) => sum + Number(m[1]), 0);

describe("pathToRoot read alone", () => {
  let s: Story;
  beforeAll(async () => {
    s = await story("path-alone");
  });

  it("answers every caller as the read with its view looked up first does", async () => {
    const nodes = [s.rootId, s.m1, s.s1, s.s2, s.s3, s.privateNode, s.d1];
    for (const who of [ANA, BEN, CAROL, DAVE, ADMIN]) {
      for (const id of nodes) {
        const alone = await pathOf(who, id);
        expect({ who: who.sub, id, path: alone }).toEqual({ who: who.sub, id, path: await pathOf(who, id, BESIDE) });
      }
    }
  });

  it("shows carol the secret branch and the private note, and ben neither", async () => {
    const [carols] = await pathOf(CAROL, s.s2);
    expect(ids(carols.pathToRoot)).toEqual([s.rootId, s.s1, s.s2]);
    expect(ids(carols.ids)).toEqual(ids(carols.pathToRoot));
    expect(ids((await pathOf(CAROL, s.s3))[0].pathToRoot)).toEqual([s.rootId, s.s1, s.s3]);
    // ben finds no node of the secret branch or of its fork.
    for (const id of [s.s1, s.s2, s.s3]) expect(await pathOf(BEN, id)).toEqual([]);

    const [bens] = await pathOf(BEN, s.d1);
    expect(ids(bens.pathToRoot)).toEqual([s.rootId, s.m1, s.privateNode, s.d1]);
    expect(bens.pathToRoot[2]).toMatchObject({ id: s.privateNode, content: null, metadata: null, redacted: true });
    expect(bens.pathToRoot[1]).toMatchObject({ content: "public step", redacted: false });
    for (const who of [CAROL, ANA, ADMIN]) {
      const [path] = await pathOf(who, s.d1);
      expect(path.pathToRoot[2]).toMatchObject({ content: "private note", metadata: { salary: 1 }, redacted: false });
    }
  });

  it("finds nothing for a caller without a grant", async () => {
    for (const id of [s.rootId, s.m1, s.d1]) expect(await pathOf(DAVE, id)).toEqual([]);
    const none = await as.post(DAVE, ALONE, { id: s.d1 });
    expect(none).toEqual({ data: { workflowNodes: [] } });
  });

  it("reads in one round trip to Neo4j, two with its view looked up first", async () => {
    for (const who of [BEN, CAROL, ADMIN]) {
      const before = await reads();
      for (let i = 0; i < 5; i++) await pathOf(who, s.d1);
      expect((await reads()) - before).toBe(5);
    }
    const before = await reads();
    await pathOf(BEN, s.d1, BESIDE);
    expect((await reads()) - before).toBeGreaterThanOrEqual(2);
  });

  it("keeps a soft-deleted workflow's nodes from everyone, its owner and admins included", async () => {
    const gone = await story("path-alone-deleted");
    expect(ids((await pathOf(ANA, gone.d1))[0].pathToRoot)).toHaveLength(4);
    await as.ok(ANA, DELETE, { id: gone.workflowId });
    for (const who of [ANA, BEN, CAROL, ADMIN]) {
      expect(await pathOf(who, gone.d1)).toEqual([]);
      expect(await pathOf(who, gone.d1, BESIDE)).toEqual([]);
    }
  });
});
