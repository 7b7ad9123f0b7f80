import { randomBytes } from "node:crypto";
import type { TokenClaims } from "../src/auth/sign-token";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { codeOf, createCallers, type Callers } from "./support/callers";
import { disposeAll, onDispose, startApp, testDriver } from "./support/harness";

/**
 * The audit trail end to end, with authentication on: every mutation leaves exactly one entry, with
 * the principal, roles, operation, workflow, targets, request id, address and input digest; refused
 * mutations leave one too; owners read their workflows' entries, admins all; nothing alters them.
 */

const SECRET = randomBytes(32).toString("hex");
const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
// A sub of its own: other suites make "ben" an owner of their workflows in the same database.
const BEN: TokenClaims = { sub: `ben-${randomBytes(4).toString("hex")}`, roles: ["reader"] };
const CAROL: TokenClaims = { sub: "carol", roles: ["writer"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };

let as: Callers;
beforeAll(async () => {
  const api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
  });
  as = createCallers(api, SECRET, onDispose);
});
afterAll(disposeAll);

const LOG = /* GraphQL */ `
  query ($where: AuditLogWhere, $first: Int, $after: String) {
    auditLog(where: $where, first: $first, after: $after) {
      edges {
        node {
          id
          at
          principal
          roles
          operation
          workflowId
          targetIds
          requestId
          clientAddress
          inputDigest
          outcome
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

type Entry = Record<string, any>;
const entriesOf = async (who: TokenClaims, where: Record<string, unknown>, first = 1000): Promise<Entry[]> =>
  (await as.ok(who, LOG, { where, first })).auditLog.edges.map((e: { node: Entry }) => e.node);

describe("the audit trail", () => {
  it("records each mutation once, in its transaction, with who, what, where from and a digest of the input", async () => {
    const started = await as.ok(ANA, START_WORKFLOW, { input: { name: "audited", systemPrompt: "p" } });
    const workflowId = started.startWorkflow.id as string;
    const rootId = started.startWorkflow.root.id as string;
    let expected = 1;
    const check = async (operation: string, targets: string[] = []) => {
      const entries = await entriesOf(ADMIN, { workflowId });
      expect(entries).toHaveLength(expected);
      expect(entries[0]).toMatchObject({ principal: "ana", roles: ["writer"], operation, workflowId, outcome: "OK" });
      expect(entries[0].targetIds).toEqual(expect.arrayContaining(targets));
      expect(entries[0].inputDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(entries[0].clientAddress).toMatch(/127\.0\.0\.1|::1/);
    };
    await check("startWorkflow", [rootId]);

    const run = async (_operation: string, query: string, input: unknown, headers: Record<string, string> = {}) => {
      const res = await as.post(ANA, query, { input }, headers);
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      expected += 1;
      return res.data!;
    };
    const node = (
      await run(
        "appendNode",
        APPEND_NODE,
        { workflowId, parentId: rootId, type: "MESSAGE", content: "a" },
        {
          "x-request-id": `req-${workflowId}`,
        },
      )
    ).appendNode;
    await check("appendNode", [node.id]);
    expect((await entriesOf(ADMIN, { workflowId }))[0].requestId).toBe(`req-${workflowId}`);
    // The same append again (an idempotent retry) is a mutation call too: one more entry, nothing else.
    await run("appendNode", APPEND_NODE, { id: node.id, workflowId, parentId: rootId, type: "MESSAGE", content: "a" });
    await check("appendNode", [node.id]);
    const decision = (
      await run(
        "addDecision",
        `mutation ($input: AddDecisionInput!) { addDecision(input: $input) { id options { id } } }`,
        { workflowId, parentId: node.id, content: "?", options: [{ content: "x" }] },
      )
    ).addDecision;
    await check("addDecision", [decision.id]);
    await run("chooseOption", `mutation ($input: ChooseOptionInput!) { chooseOption(input: $input) { id } }`, {
      decisionId: decision.id,
      optionId: decision.options[0].id,
    });
    await check("chooseOption", [decision.id, decision.options[0].id]);
    const fork = (
      await run("forkBranch", `mutation ($input: ForkBranchInput!) { forkBranch(input: $input) { id } }`, {
        fromNodeId: rootId,
      })
    ).forkBranch;
    await check("forkBranch", [fork.id]);
    await run(
      "setBranchVisibility",
      `mutation ($input: SetBranchVisibilityInput!) { setBranchVisibility(input: $input) { id } }`,
      {
        branchId: fork.id,
        restrictedTo: ["ana"],
      },
    );
    await check("setBranchVisibility", [fork.id]);
    await run(
      "grantWorkflowAccess",
      `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`,
      { workflowId, principal: "carol", access: "READ" },
    );
    await check("grantWorkflowAccess", ["carol"]);
    await run(
      "completeWorkflow",
      `mutation ($input: CompleteWorkflowInput!) { completeWorkflow(input: $input) { id } }`,
      {
        workflowId,
      },
    );
    await check("completeWorkflow");

    // A failed write (CONFLICT: the workflow is completed) wrote nothing, its entry included.
    const refusedAppend = await as.post(ANA, APPEND_NODE, {
      input: { workflowId, parentId: node.id, type: "MESSAGE", content: "late" },
    });
    expect(codeOf(refusedAppend)).toBe("CONFLICT");
    expect(await entriesOf(ADMIN, { workflowId })).toHaveLength(expected);
  });

  it("records refused mutations: a reader's (role gate), a READ grantee's write, and one with no valid token", async () => {
    const started = await as.ok(ANA, START_WORKFLOW, { input: { name: "refusals", systemPrompt: "p" } });
    const workflowId = started.startWorkflow.id as string;
    const rootId = started.startWorkflow.root.id as string;
    await as.ok(ANA, `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`, {
      input: { workflowId, principal: "carol", access: "READ" },
    });
    const append = { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "no" } };
    // Request ids unique to this run: the audit trail outlives test runs.
    const run = randomBytes(4).toString("hex");
    expect(codeOf(await as.post(BEN, APPEND_NODE, append, { "x-request-id": `ben-1-${run}` }))).toBe("FORBIDDEN");
    expect(codeOf(await as.post(CAROL, APPEND_NODE, append, { "x-request-id": `carol-1-${run}` }))).toBe("FORBIDDEN");
    expect(codeOf(await as.post(null, APPEND_NODE, append, { "x-request-id": `nobody-1-${run}` }))).toBe(
      "UNAUTHENTICATED",
    );
    const byRequest = async (requestId: string) =>
      (await entriesOf(ADMIN, { operation: "appendNode" })).filter((e) => e.requestId === requestId);
    expect(await byRequest(`ben-1-${run}`)).toEqual([
      expect.objectContaining({ principal: BEN.sub, roles: ["reader"], outcome: "FORBIDDEN", operation: "appendNode" }),
    ]);
    expect(await byRequest(`carol-1-${run}`)).toEqual([
      expect.objectContaining({ principal: "carol", outcome: "FORBIDDEN", workflowId }),
    ]);
    expect(await byRequest(`nobody-1-${run}`)).toEqual([
      expect.objectContaining({ principal: "(unauthenticated)", outcome: "UNAUTHENTICATED" }),
    ]);
  });

  it("records a reader's mutation refused by the role gate over WebSocket too", async () => {
    const started = await as.ok(ANA, START_WORKFLOW, { input: { name: "ws refusal", systemPrompt: "p" } });
    const workflowId = started.startWorkflow.id as string;
    const refusedBefore = (await entriesOf(ADMIN, { principal: BEN.sub, operation: "appendNode" })).length;
    const client = await as.client(BEN);
    const code = await new Promise<unknown>((resolve) => {
      client.subscribe(
        {
          query: APPEND_NODE,
          variables: { input: { workflowId, parentId: started.startWorkflow.root.id, type: "MESSAGE", content: "no" } },
        },
        {
          next: (value) => resolve(value.errors?.[0]?.extensions?.code),
          error: (error) => resolve((error as { extensions?: { code?: unknown } }[])[0]?.extensions?.code),
          complete: () => resolve("completed"),
        },
      );
    });
    expect(code).toBe("FORBIDDEN");
    const entries = await entriesOf(ADMIN, { principal: BEN.sub, operation: "appendNode" });
    expect(entries).toHaveLength(refusedBefore + 1);
    expect(entries[0]).toMatchObject({ outcome: "FORBIDDEN", roles: ["reader"] });
    expect(entries[0].clientAddress).toMatch(/127\.0\.0\.1|::1/);
  });

  it("shows owners their workflows' entries only, admins everything, and pages newest first without overlap", async () => {
    const mine = (await as.ok(ANA, START_WORKFLOW, { input: { name: "ana's", systemPrompt: "p" } })).startWorkflow;
    const carols = (await as.ok(CAROL, START_WORKFLOW, { input: { name: "carol's", systemPrompt: "p" } }))
      .startWorkflow;
    for (let i = 0; i < 4; i += 1) {
      await as.ok(ANA, APPEND_NODE, {
        input: { workflowId: mine.id, parentId: mine.root.id, type: "MESSAGE", content: `${i}` },
      });
    }
    expect((await entriesOf(ANA, { workflowId: mine.id })).length).toBe(5);
    expect(await entriesOf(ANA, { workflowId: carols.id })).toEqual([]);
    expect((await entriesOf(CAROL, { workflowId: carols.id })).length).toBe(1);
    expect(await entriesOf(BEN, {})).toEqual([]);
    const all = await entriesOf(ADMIN, { workflowId: mine.id });
    const times = all.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { edges: { node: Entry }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = (
        await as.ok(ADMIN, LOG, { where: { workflowId: mine.id }, first: 2, after })
      ).auditLog;
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.map((e) => e.id));
    expect(codeOf(await as.post(ADMIN, LOG, { after: "not-a-cursor" }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await as.post(ADMIN, LOG, { first: 1001 }))).toBe("BAD_USER_INPUT");
  });

  it("offers no way to change or delete an entry, and keeps every entry whole in the database", async () => {
    const schema = await as.ok(
      ADMIN,
      `{ __schema { mutationType { fields { name } } queryType { fields { name } } } }`,
    );
    const mutations = schema.__schema.mutationType.fields.map((f: { name: string }) => f.name);
    expect(mutations.filter((name: string) => /audit/i.test(name))).toEqual([]);
    const queries = schema.__schema.queryType.fields.map((f: { name: string }) => f.name);
    expect(queries.filter((name: string) => /audit/i.test(name))).toEqual(["auditLog"]);
    const session = testDriver().session();
    try {
      const result = await session.run(
        "MATCH (a:AuditEntry) WHERE a.principal IS NULL OR a.operation IS NULL OR a.at IS NULL RETURN count(a) AS broken",
      );
      expect(Number(result.records[0].get("broken"))).toBe(0);
    } finally {
      await session.close();
    }
  });
});
