import { randomBytes, randomUUID } from "node:crypto";
import type { Driver } from "neo4j-driver";
import { ADMIN_SCOPE } from "../src/auth/access-scope";
import { ANONYMOUS_SUB } from "../src/auth/principal";
import type { TokenClaims } from "../src/auth/sign-token";
import { appendNodes, type AppendNodeInput } from "../src/domain/append-nodes";
import { exportWorkflow } from "../src/domain/archive/export-workflow";
import { importWorkflow } from "../src/domain/archive/import-workflow";
import { purgeWorkflow } from "../src/domain/retention/purge";
import { startWorkflow } from "../src/domain/start-workflow";
import type { Store } from "../src/domain/store";
import { exportOver, importOver, leftOf, ndjsonLines, NOTHING_LEFT } from "./support/archive";
import { codeOf, createCallers, type Callers } from "./support/callers";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { disposeAll, onDispose, startApp, testDriver, testStore, type RunningApp } from "./support/harness";
import { workflowState } from "./support/workflow-state";

/**
 * Archive, restore and purge end to end: a workflow with branches, a decision and its choice, a
 * monitor, a restricted branch and a redacted node, and grants, is exported over HTTP, purged and
 * imported again, and every read path answers as before, for its owner and for a caller who sees
 * less. Broken archives write nothing; purges run in batches, resume, and hide the workflow from
 * the first batch on.
 */

const SECRET = randomBytes(32).toString("hex");
const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
const BEN: TokenClaims = { sub: "ben", roles: ["writer"] };
const CAROL: TokenClaims = { sub: "carol", roles: ["reader"], groups: ["ops"] };
const DAN: TokenClaims = { sub: "dan", roles: ["writer"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };

let api: RunningApp;
let as: Callers;
let store: Store;
let raw: Driver;
beforeAll(async () => {
  api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
  });
  as = createCallers(api, SECRET, onDispose);
  store = testStore();
  raw = testDriver();
});
afterAll(disposeAll);

const GRANT = `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`;
const VISIBILITY = `mutation ($input: SetBranchVisibilityInput!) { setBranchVisibility(input: $input) { id } }`;
const ADD_DECISION = `mutation ($input: AddDecisionInput!) { addDecision(input: $input) { id options { id } } }`;
const CHOOSE = `mutation ($input: ChooseOptionInput!) { chooseOption(input: $input) { id } }`;
const ADD_MONITOR = `mutation ($input: AddMonitorInput!) { addMonitor(input: $input) { id } }`;

async function append(who: TokenClaims, workflowId: string, parentId: string, content: string, extra = {}) {
  const data = await as.ok(who, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content, ...extra } });
  return data.appendNode as { id: string; branchId: string };
}

/** ana's workflow: a secret branch (carol only) with a fork, a private node, a decision, a monitor. */
async function story() {
  const started = await as.ok(ANA, START_WORKFLOW, { input: { name: "archive", systemPrompt: "archive me" } });
  const workflowId = started.startWorkflow.id as string;
  const rootId = started.startWorkflow.root.id as string;
  const m1 = await append(ANA, workflowId, rootId, "public step", { metadata: { score: 1.5, n: 2 } });
  const s1 = await append(ANA, workflowId, rootId, "secret plan");
  const s2 = await append(ANA, workflowId, s1.id, "secret detail");
  await append(ANA, workflowId, s1.id, "secret fork");
  const privateNode = await append(ANA, workflowId, m1.id, "private note", { restrictedTo: ["ana", "group:ops"] });
  const decision = await as.ok(ANA, ADD_DECISION, {
    input: {
      workflowId,
      parentId: privateNode.id,
      content: "which?",
      options: [{ content: "open" }, { existingNodeId: s2.id }],
    },
  });
  const decisionId = decision.addDecision.id as string;
  await as.ok(ANA, CHOOSE, { input: { decisionId, optionId: s2.id, reason: "secret wins" } });
  await as.ok(ANA, ADD_MONITOR, {
    input: { workflowId, parentId: decisionId, content: "watch", targetIds: [s1.id, m1.id] },
  });
  await as.ok(ANA, VISIBILITY, { input: { branchId: s1.branchId, restrictedTo: ["carol"] } });
  await as.ok(ANA, GRANT, { input: { workflowId, principal: "ben", access: "WRITE" } });
  await as.ok(ANA, GRANT, { input: { workflowId, principal: "group:ops", access: "READ" } });
  return { workflowId, rootId, leafId: decisionId, secretNode: s2.id };
}

const READ_ALL = /* GraphQL */ `
  query ($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      id
      name
      status
      createdAt
      metadata
      lastSeq
      nodeCount
      mermaid
      myAccess
      grants {
        principal
        access
      }
      branches {
        id
        name
        status
        restrictedTo
        summary
      }
    }
  }
`;

const READ_PATH = /* GraphQL */ `
  query ($id: ID!, $leaf: ID!) {
    workflowNodes(where: { id: { eq: $leaf } }) {
      pathToRoot {
        id
        seq
        timestamp
        content
        metadata
        redacted
        restrictedTo
        writtenBy
      }
    }
    branches(where: { workflowId: { eq: $id } }, sort: [{ id: ASC }]) {
      id
      length
    }
  }
`;

/** Custom reads: NOT_FOUND when the caller may not read the workflow. */
const READ_LOG = /* GraphQL */ `
  query ($id: ID!) {
    history(workflowId: $id) {
      edges {
        cursor
        node {
          id
          seq
          type
          branchId
          content
          metadata
          timestamp
          depth
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
  }
`;

/** Everything READ_ALL answers, with lists the API does not order put in a fixed order. */
async function answers(who: TokenClaims, workflowId: string, leafId: string) {
  const res = await as.post(who, READ_ALL, { id: workflowId });
  const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
  for (const w of res.data?.workflows ?? []) {
    w.branches?.sort(byId);
    w.grants?.sort((a: { principal: string }, b: { principal: string }) => a.principal.localeCompare(b.principal));
  }
  const path = await as.post(who, READ_PATH, { id: workflowId, leaf: leafId });
  const log = await as.post(who, READ_LOG, { id: workflowId });
  return [res, path, log];
}

async function grantsOf(workflowId: string) {
  const { records } = await raw.executeQuery(
    "MATCH (g:WorkflowGrant {workflowId: $id}) RETURN properties(g) AS g ORDER BY g.principal",
    { id: workflowId },
  );
  return records.map((r) => r.get("g"));
}

const collect = async (lines: AsyncIterable<string>) => {
  let text = "";
  for await (const line of lines) text += line;
  return text;
};

describe("archive and restore", () => {
  it("export → purge → import answers every query as before, restrictions included", async () => {
    const s = await story();
    const before = {
      ana: await answers(ANA, s.workflowId, s.leafId),
      ben: await answers(BEN, s.workflowId, s.leafId),
      carol: await answers(CAROL, s.workflowId, s.leafId),
      admin: await answers(ADMIN, s.workflowId, s.leafId),
      state: await workflowState(raw, s.workflowId),
      grants: await grantsOf(s.workflowId),
    };
    for (const view of [before.ana, before.ben, before.carol, before.admin]) {
      expect(view.map((r) => r.errors)).toEqual([undefined, undefined, undefined]);
    }
    // ben does not see the secret branch: the comparison below covers a restricted view.
    expect(JSON.stringify(before.ben)).not.toContain(s.secretNode);
    expect(JSON.stringify(before.carol)).toContain(s.secretNode);

    const exported = await exportOver(api.origin, SECRET, s.workflowId, ANA);
    expect(exported.status).toBe(200);
    expect(exported.type).toContain("application/x-ndjson");
    const lines = ndjsonLines(exported.body);
    expect(JSON.parse(lines[0]).kind).toBe("header");
    expect(JSON.parse(lines.at(-1)!).kind).toBe("end");

    const purged = await purgeWorkflow(store, s.workflowId, { batchSize: 3 });
    expect(purged.complete).toBe(true);
    expect(await leftOf(raw, s.workflowId)).toEqual(NOTHING_LEFT);
    expect(codeOf(await as.post(ANA, READ_LOG, { id: s.workflowId }))).toBe("NOT_FOUND");

    const imported = await importOver(api.origin, SECRET, exported.body, ANA);
    expect(imported).toMatchObject({ status: 200, json: { data: { importWorkflow: { workflowId: s.workflowId } } } });

    expect(await answers(ANA, s.workflowId, s.leafId)).toEqual(before.ana);
    expect(await answers(BEN, s.workflowId, s.leafId)).toEqual(before.ben);
    expect(await answers(CAROL, s.workflowId, s.leafId)).toEqual(before.carol);
    expect(await answers(ADMIN, s.workflowId, s.leafId)).toEqual(before.admin);
    expect(await workflowState(raw, s.workflowId)).toEqual(before.state);
    expect(await grantsOf(s.workflowId)).toEqual(before.grants);
    // The same workflow exports to the same lines (but the header's time).
    // The same workflow exports to the same lines (but the header's time and the end line).
    const again = ndjsonLines((await exportOver(api.origin, SECRET, s.workflowId, ANA)).body);
    expect(again.slice(1, -1)).toEqual(lines.slice(1, -1));
  });

  it("refuses a truncated or tampered archive, and writes nothing", async () => {
    const s = await story();
    const text = await collect(exportWorkflow(store, s.workflowId));
    await purgeWorkflow(store, s.workflowId);
    const lines = ndjsonLines(text);
    const tampered = lines.map((l) => l.replace("public step", "public stop")).join("");
    expect(tampered).not.toBe(text);
    const broken = {
      truncated: lines.slice(0, -1).join(""),
      cutMidLine: text.slice(0, Math.floor(text.length / 2)),
      tampered,
      dropped: [...lines.slice(0, 3), ...lines.slice(4)].join(""),
      badVersion: [lines[0].replace('"version":1', '"version":2'), ...lines.slice(1)].join(""),
    };
    for (const [name, body] of Object.entries(broken)) {
      const res = await importOver(api.origin, SECRET, body, ANA);
      expect([name, res.status, res.json.errors?.[0]?.extensions.code]).toEqual([name, 400, "BAD_USER_INPUT"]);
      expect(await leftOf(raw, s.workflowId)).toEqual(NOTHING_LEFT);
    }
    // The intact file still imports.
    expect((await importOver(api.origin, SECRET, text, ANA)).status).toBe(200);
  });

  it("is CONFLICT over an existing workflow, and leaves it as it was", async () => {
    const s = await story();
    const state = await workflowState(raw, s.workflowId);
    const text = (await exportOver(api.origin, SECRET, s.workflowId, ADMIN)).body;
    const res = await importOver(api.origin, SECRET, text, ADMIN);
    expect([res.status, res.json.errors?.[0]?.extensions.code]).toEqual([409, "CONFLICT"]);
    expect(await workflowState(raw, s.workflowId)).toEqual(state);
  });

  it("lets owners and admins export; a reader gets 403, a stranger 404, no token 401", async () => {
    const s = await story();
    expect((await exportOver(api.origin, SECRET, s.workflowId, ADMIN)).status).toBe(200);
    const writer = await exportOver(api.origin, SECRET, s.workflowId, BEN);
    expect([writer.status, JSON.parse(writer.body).errors[0].extensions.code]).toEqual([403, "FORBIDDEN"]);
    const reader = await exportOver(api.origin, SECRET, s.workflowId, CAROL);
    expect([reader.status, JSON.parse(reader.body).errors[0].extensions.code]).toEqual([403, "FORBIDDEN"]);
    const stranger = await exportOver(api.origin, SECRET, s.workflowId, DAN);
    expect([stranger.status, JSON.parse(stranger.body).errors[0].extensions.code]).toEqual([404, "NOT_FOUND"]);
    expect((await exportOver(api.origin, SECRET, randomUUID(), ADMIN)).status).toBe(404);
    expect((await exportOver(api.origin, SECRET, s.workflowId)).status).toBe(401);
  });

  it("lets a writer import only what it owns, and a reader not at all", async () => {
    const s = await story();
    const text = await collect(exportWorkflow(store, s.workflowId));
    await purgeWorkflow(store, s.workflowId);
    const reader = await importOver(api.origin, SECRET, text, CAROL);
    expect([reader.status, reader.json.errors?.[0]?.extensions.code]).toEqual([403, "FORBIDDEN"]);
    const notOwner = await importOver(api.origin, SECRET, text, BEN);
    expect([notOwner.status, notOwner.json.errors?.[0]?.extensions.code]).toEqual([403, "FORBIDDEN"]);
    expect(await leftOf(raw, s.workflowId)).toEqual(NOTHING_LEFT);
    expect((await importOver(api.origin, SECRET, text, ANA)).status).toBe(200);
  });

  it("refuses an import body over MAX_BODY_BYTES (413), and writes nothing", async () => {
    const small = await startApp({
      auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
      maxBodyBytes: 2048,
    });
    const s = await story();
    const text = await collect(exportWorkflow(store, s.workflowId));
    expect(text.length).toBeGreaterThan(2048);
    await purgeWorkflow(store, s.workflowId);
    const res = await importOver(small.origin, SECRET, text, ADMIN);
    expect([res.status, res.json.errors?.[0]?.extensions.code]).toEqual([413, "BAD_REQUEST"]);
    expect(await leftOf(raw, s.workflowId)).toEqual(NOTHING_LEFT);
  });

  it("removes what an import wrote when it fails after some batches", async () => {
    const s = await story();
    const text = await collect(exportWorkflow(store, s.workflowId));
    await purgeWorkflow(store, s.workflowId);
    await expect(
      importWorkflow(store, ndjsonLines(text).values() as unknown as AsyncIterable<string>, {
        batchRows: 2,
        failAfterBatches: 3,
      }),
    ).rejects.toThrow("import stopped after 3 batches");
    expect(await leftOf(raw, s.workflowId)).toEqual(NOTHING_LEFT);
  });
});

/** A workflow of `size` nodes in a chain, written through the domain in batches. */
async function chain(size: number, batch = 1000) {
  const started = await startWorkflow(store, { name: "purge", systemPrompt: "purge me" }, ADMIN_SCOPE, ANONYMOUS_SUB);
  let parent = started.root.id;
  for (let done = 0; done < size; done += batch) {
    const inputs: AppendNodeInput[] = [];
    for (let k = 0; k < Math.min(batch, size - done); k++) {
      const id = randomUUID();
      inputs.push({
        id,
        workflowId: started.workflowId,
        parentId: k === 0 ? parent : inputs[k - 1].id!,
        type: "MESSAGE",
        content: `n${done + k}`,
      });
    }
    await appendNodes(store, inputs, ADMIN_SCOPE);
    parent = inputs.at(-1)!.id!;
  }
  return started;
}

describe("purge", () => {
  it("interrupted half-way, hides the workflow from everyone (admins too) and completes on the next call", async () => {
    const s = await story();
    const half = await purgeWorkflow(store, s.workflowId, { batchSize: 2, maxBatches: 2 });
    expect(half).toMatchObject({ found: true, complete: false, batches: 2 });
    const left = await leftOf(raw, s.workflowId);
    expect(left.nodes).toBeGreaterThan(0);
    expect(left.workflow).toBe(1);
    // Every read path: the owner gets NOT_FOUND, the admin finds nothing in the generated queries.
    expect(codeOf(await as.post(ANA, READ_LOG, { id: s.workflowId }))).toBe("NOT_FOUND");
    const admin = await as.post(ADMIN, READ_LOG, { id: s.workflowId });
    expect(codeOf(admin)).toBe("NOT_FOUND");
    const generated = await as.ok(
      ADMIN,
      `query ($id: ID!) {
        workflows(where: { id: { eq: $id } }) { id }
        workflowNodes(where: { workflowId: { eq: $id } }) { id }
        branches(where: { workflowId: { eq: $id } }) { id }
      }`,
      { id: s.workflowId },
    );
    expect(generated).toEqual({ workflows: [], workflowNodes: [], branches: [] });
    // Writes find nothing either.
    const write = await as.post(ANA, APPEND_NODE, {
      input: { workflowId: s.workflowId, parentId: s.rootId, type: "MESSAGE", content: "late" },
    });
    expect(codeOf(write)).toBe("NOT_FOUND");
    // Its id stays taken, even for an admin retrying the start it was created with.
    const restart = await as.post(ADMIN, START_WORKFLOW, {
      input: { id: s.workflowId, name: "archive", systemPrompt: "archive me" },
    });
    expect(codeOf(restart)).toBe("CONFLICT");
    expect((await exportOver(api.origin, SECRET, s.workflowId, ADMIN)).status).toBe(404);

    const rest = await purgeWorkflow(store, s.workflowId, { batchSize: 2 });
    expect(rest).toMatchObject({ found: true, complete: true });
    expect(await leftOf(raw, s.workflowId)).toEqual(NOTHING_LEFT);
    expect(await purgeWorkflow(store, s.workflowId)).toMatchObject({ found: false, complete: true });
  });

  it("runs in batches while another workflow keeps accepting appends", async () => {
    const big = await chain(5000);
    const other = await as.ok(ANA, START_WORKFLOW, { input: { name: "busy", systemPrompt: "keep writing" } });
    const otherId = other.startWorkflow.id as string;
    let parent = other.startWorkflow.root.id as string;
    let purging = true;
    const purge = purgeWorkflow(store, big.workflowId, { batchSize: 250 }).finally(() => (purging = false));
    const appended: string[] = [];
    // At least a few appends, and on until the purge is done.
    while (purging || appended.length < 5) {
      const res = await as.post(ANA, APPEND_NODE, {
        input: { workflowId: otherId, parentId: parent, type: "MESSAGE", content: `during ${appended.length}` },
      });
      expect(res.errors).toBeUndefined();
      parent = res.data!.appendNode.id;
      appended.push(parent);
    }
    const result = await purge;
    expect(result.complete).toBe(true);
    expect(result.batches).toBeGreaterThan(20);
    expect(await leftOf(raw, big.workflowId)).toEqual(NOTHING_LEFT);
    const count = await raw.executeQuery("MATCH (n:WorkflowNode {workflowId: $id}) RETURN count(n) AS c", {
      id: otherId,
    });
    expect(count.records[0].get("c")).toBe(appended.length + 1);
  }, 120000);
});
