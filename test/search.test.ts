import { randomBytes } from "node:crypto";
import type { TokenClaims } from "../src/auth/sign-token";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { codeOf, createCallers, type Callers } from "./support/callers";
import { awaitSearchIndexRefresh } from "../src/domain/search/index-refresh";
import { disposeAll, onDispose, startApp, testConfig, testDriver } from "./support/harness";
import type { RunningApp } from "./support/harness";

/**
 * Full-text search end to end, with authentication on. ana owns a workflow with a side branch and
 * grants ben READ; carol has no grant. Each test searches for words made up for it, so the shared
 * database's other data never matches. The full-text indexes are eventually consistent: every
 * search first waits for the writes before it to be indexed.
 */

const SECRET = randomBytes(32).toString("hex");
const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
const BEN: TokenClaims = { sub: "ben", roles: ["reader"] };
const CAROL: TokenClaims = { sub: "carol", roles: ["reader"] };
const ADMIN: TokenClaims = { sub: "root", roles: ["admin"] };

let api: RunningApp;
let as: Callers;
beforeAll(async () => {
  api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
  });
  as = createCallers(api, SECRET, onDispose);
});
const indexDriver = testDriver();
/** Waits until the writes so far are in the full-text indexes (migration 0012). */
const indexed = () => awaitSearchIndexRefresh(indexDriver, testConfig().neo4j.database);
afterAll(disposeAll);

/** A word no other data holds (letters and digits: one token for Lucene). */
const word = (prefix: string) => `${prefix}${randomBytes(5).toString("hex")}`;

const SEARCH_NODES = /* GraphQL */ `
  query Search($query: String!, $where: SearchNodesWhere, $first: Int, $after: String) {
    searchNodes(query: $query, where: $where, first: $first, after: $after) {
      edges {
        cursor
        score
        highlight
        node {
          id
          seq
          branchId
          content
          redacted
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

const SEARCH_WORKFLOWS = /* GraphQL */ `
  query SearchWorkflows($query: String!, $where: SearchWorkflowsWhere, $first: Int, $after: String) {
    searchWorkflows(query: $query, where: $where, first: $first, after: $after) {
      edges {
        cursor
        score
        highlight
        node {
          id
          name
          status
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/** searchWorkflows as `who`, once the writes so far are indexed. */
async function searchWorkflows(who: TokenClaims, variables: Record<string, unknown>) {
  await indexed();
  return as.ok(who, SEARCH_WORKFLOWS, variables);
}

const GRANT = `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`;
const VISIBILITY = `mutation ($input: SetBranchVisibilityInput!) { setBranchVisibility(input: $input) { id } }`;

interface Hit {
  cursor: string;
  score: number;
  highlight: string | null;
  node: { id: string; seq: number; branchId: string; content: string | null; redacted: boolean };
}

/**
 * The same search in an operation with another root field: the caller's access is then looked up
 * before it runs and given to the search, where a search alone looks it up in its own statement.
 */
const SEARCH_NODES_WITH_VIEW = SEARCH_NODES.replace(
  "searchNodes(",
  'workflows(where: { id: { eq: "none" } }) { id }\n    searchNodes(',
);

type NodePage = { edges: Hit[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/** searchNodes as `who`, once the writes so far are indexed; both ways of checking access agree. */
async function search(who: TokenClaims, query: string, variables: Record<string, unknown> = {}) {
  await indexed();
  const page = (await as.ok(who, SEARCH_NODES, { query, ...variables })).searchNodes as NodePage;
  const viewed = (await as.ok(who, SEARCH_NODES_WITH_VIEW, { query, ...variables })).searchNodes as NodePage;
  // Scores (and the cursors holding them) move with any write to the index, other suites' too.
  const shown = (p: NodePage) => [p.edges.map((e) => [e.node, e.highlight]), p.pageInfo.hasNextPage];
  expect(shown(viewed)).toEqual(shown(page));
  return page;
}

async function append(workflowId: string, parentId: string, content: string, extra: Record<string, unknown> = {}) {
  const data = await as.ok(ANA, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content, ...extra } });
  return data.appendNode as { id: string; seq: number; branchId: string };
}

/** ana's workflow: root → m1 on main, and a side branch forked from the root; ben may read it. */
async function story(name = word("flow"), systemPrompt = "You plan trips.", agentId?: string) {
  const started = await as.ok(ANA, START_WORKFLOW, {
    input: { name, systemPrompt, ...(agentId ? { agentId } : {}) },
  });
  const workflowId = started.startWorkflow.id as string;
  const rootId = started.startWorkflow.root.id as string;
  const mainId = started.startWorkflow.root.branchId as string;
  const m1 = await append(workflowId, rootId, "public step");
  await as.ok(ANA, GRANT, { input: { workflowId, principal: "ben", access: "READ" } });
  return { workflowId, rootId, mainId, m1 };
}

describe("searchNodes", () => {
  it("finds a word appended into one branch, with a highlight, and the filters narrow it", async () => {
    const { workflowId, rootId, mainId, m1 } = await story();
    const needle = word("needle");
    const side = await append(workflowId, rootId, `The planner called search_flights and it timed out: ${needle}.`, {
      agentId: "planner",
      userId: "u1",
    });
    expect(side.branchId).not.toBe(mainId);
    await append(workflowId, m1.id, "nothing to see here");

    const found = await search(ANA, needle);
    expect(found.edges.map((e) => e.node.id)).toEqual([side.id]);
    const [hit] = found.edges;
    expect(hit.highlight).toContain(`«${needle}»`);
    expect(hit.highlight).toContain("search_flights");
    expect(hit.score).toBeGreaterThan(0);
    expect(found.pageInfo).toEqual({ hasNextPage: false, endCursor: hit.cursor });
    // A phrase, a prefix and a fuzzy query find it too.
    expect((await search(ANA, `"timed out" AND ${needle}`)).edges).toHaveLength(1);
    expect((await search(ANA, `${needle.slice(0, -2)}*`)).edges).toHaveLength(1);
    expect((await search(ANA, `${needle.slice(0, -1)}x~1`)).edges.map((e) => e.node.id)).toEqual([side.id]);
    // ben may read the workflow and sees the branch.
    expect((await search(BEN, needle)).edges).toHaveLength(1);
    // carol has no grant: nothing.
    expect((await search(CAROL, needle)).edges).toEqual([]);

    const count = async (where: Record<string, unknown>) => (await search(ANA, needle, { where })).edges.length;
    expect(await count({ workflowId })).toBe(1);
    expect(await count({ branchId: side.branchId })).toBe(1);
    expect(await count({ branchId: mainId })).toBe(0);
    expect(await count({ type: "MESSAGE", agentId: "planner", userId: "u1" })).toBe(1);
    expect(await count({ type: "ACTION" })).toBe(0);
    expect(await count({ agentId: "someone-else" })).toBe(0);
    expect(await count({ userId: "u2" })).toBe(0);
    expect(await count({ from: new Date(Date.now() - 60000).toISOString() })).toBe(1);
    expect(await count({ from: new Date(Date.now() + 60000).toISOString() })).toBe(0);
    expect(await count({ to: new Date(Date.now() - 60000).toISOString() })).toBe(0);
  });

  it("pages through every hit once, best score first, and the pages join up to one full read", async () => {
    const { workflowId, m1 } = await story();
    const term = word("page");
    // Scores differ with the term's frequency and the text's length; several tie.
    const texts = [
      `${term}`,
      `${term} ${term} ${term}`,
      `one ${term}`,
      `two ${term}`,
      `three ${term}`,
      `a longer text that mentions ${term} only once among many other words`,
      `${term} and ${term}`,
      `four ${term}`,
    ];
    const ids: string[] = [];
    let parent = m1.id;
    for (const text of texts) {
      const node = await append(workflowId, parent, text);
      ids.push(node.id);
      parent = node.id;
    }
    const all = await search(ANA, term, { first: 100 });
    expect(all.edges.map((e) => e.node.id).sort()).toEqual([...ids].sort());
    expect(all.pageInfo.hasNextPage).toBe(false);
    // Best first; equal scores by seq (one workflow here).
    for (let i = 1; i < all.edges.length; i++) {
      const [a, b] = [all.edges[i - 1], all.edges[i]];
      expect(a.score > b.score || (a.score === b.score && a.node.seq < b.node.seq)).toBe(true);
    }
    expect(new Set(all.edges.map((e) => e.score)).size).toBeLessThan(all.edges.length);

    for (const size of [1, 2, 3]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const page = await search(ANA, term, { first: size, after });
        seen.push(...page.edges.map((e) => e.node.id));
        expect(page.edges.length).toBeLessThanOrEqual(size);
        if (!page.pageInfo.hasNextPage) break;
        expect(page.edges).toHaveLength(size);
        after = page.pageInfo.endCursor;
      }
      expect(seen).toEqual(all.edges.map((e) => e.node.id));
    }
    // first: 0 is an empty page; a cursor from elsewhere is refused.
    expect((await search(ANA, term, { first: 0 })).edges).toEqual([]);
    const bad = await as.post(ANA, SEARCH_NODES, { query: term, after: "bm90LWEtY3Vyc29y" });
    expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    const tooMany = await as.post(ANA, SEARCH_NODES, { query: term, first: 1001 });
    expect(codeOf(tooMany)).toBe("BAD_USER_INPUT");
  });

  it("goes on after the cursor's own hit when writes in between moved every score", async () => {
    const { workflowId, m1 } = await story();
    const term = word("drift");
    // Five texts of one length holding the word once: five hits of one score, in seq order.
    const ids: string[] = [];
    let parent = m1.id;
    for (const other of ["alpha", "bravo", "delta", "gamma", "kappa"]) {
      const node = await append(workflowId, parent, `${other} ${term}`);
      ids.push(node.id);
      parent = node.id;
    }
    const first = await search(ANA, term, { first: 2 });
    expect(first.edges.map((e) => e.node.id)).toEqual(ids.slice(0, 2));
    // Any write to the index changes the statistics each score is computed from; over a large
    // index a word's document count moves them by more than a float's last digit (an unrelated
    // text may not). The write is in a workflow ana cannot read: it must not show up either.
    const other = await as.ok(ADMIN, START_WORKFLOW, { input: { name: word("other"), systemPrompt: "elsewhere" } });
    const input = { workflowId: other.startWorkflow.id, parentId: other.startWorkflow.root.id, type: "MESSAGE" };
    await as.ok(ADMIN, APPEND_NODE, { input: { ...input, content: `${term} in a workflow ana cannot read` } });
    const now = await search(ANA, term, { first: 1 });
    expect(now.edges[0].score).not.toBe(first.edges[0].score);
    const rest = await search(ANA, term, { first: 10, after: first.pageInfo.endCursor });
    expect(rest.edges.map((e) => e.node.id)).toEqual(ids.slice(2));
  });

  it("never shows a branch restricted from the caller, nor matches a node redacted for it", async () => {
    const { workflowId, rootId, m1 } = await story();
    const onBranch = word("branchword");
    const side = await append(workflowId, rootId, `secret plan ${onBranch}`);
    const fork = await append(workflowId, side.id, `forked ${onBranch}`);
    await append(workflowId, side.id, `more ${onBranch}`);
    expect(fork.branchId).toBe(side.branchId);
    const inContent = word("private");
    const inMetadata = word("meta");
    const redacted = await append(workflowId, m1.id, `private note ${inContent}`, {
      metadata: { note: inMetadata },
      restrictedTo: ["ana"],
    });
    const shared = await append(workflowId, m1.id, `shared note ${inContent}`);

    expect((await search(BEN, onBranch)).edges).toHaveLength(3);
    await as.ok(ANA, VISIBILITY, { input: { branchId: side.branchId, restrictedTo: ["ana"] } });
    expect((await search(ANA, onBranch)).edges).toHaveLength(3);
    expect((await search(BEN, onBranch)).edges).toEqual([]);
    expect((await search(BEN, onBranch, { where: { branchId: side.branchId } })).edges).toEqual([]);

    // The owner sees the redacted node, by content and by metadata (its highlight from the metadata).
    expect((await search(ANA, inContent)).edges.map((e) => e.node.id).sort()).toEqual([redacted.id, shared.id].sort());
    const byMetadata = await search(ANA, inMetadata);
    expect(byMetadata.edges.map((e) => e.node.id)).toEqual([redacted.id]);
    expect(byMetadata.edges[0].highlight).toContain(`«${inMetadata}»`);
    // ben: the shared node only; the redacted one matches neither by content nor by metadata.
    expect((await search(BEN, inContent)).edges.map((e) => e.node.id)).toEqual([shared.id]);
    expect((await search(BEN, inMetadata)).edges).toEqual([]);
    expect((await search(BEN, `metadata:${inMetadata} OR ${inContent}`)).edges.map((e) => e.node.id)).toEqual([
      shared.id,
    ]);
  });

  it("never finds a hidden workflow (deleted, purging, importing), admins included", async () => {
    const { workflowId, m1 } = await story();
    const term = word("hidden");
    await append(workflowId, m1.id, `about to vanish ${term}`);
    expect((await search(ANA, term)).edges).toHaveLength(1);
    expect((await search(ADMIN, term)).edges).toHaveLength(1);
    const driver = testDriver();
    await driver.executeQuery("MATCH (w:Workflow {id: $workflowId}) SET w:HiddenWorkflow", { workflowId });
    try {
      expect((await search(ANA, term)).edges).toEqual([]);
      expect((await search(ADMIN, term)).edges).toEqual([]);
      const workflows = await searchWorkflows(ADMIN, { query: term });
      expect(workflows.searchWorkflows.edges).toEqual([]);
    } finally {
      await driver.executeQuery("MATCH (w:Workflow {id: $workflowId}) REMOVE w:HiddenWorkflow", { workflowId });
    }
  });

  it("never shows a branch being pruned, admins included", async () => {
    const { workflowId, rootId } = await story();
    const term = word("pruned");
    const side = await append(workflowId, rootId, `on a branch about to go ${term}`);
    expect((await search(ANA, term)).edges).toHaveLength(1);
    expect((await search(ADMIN, term)).edges).toHaveLength(1);
    const driver = testDriver();
    await driver.executeQuery("MATCH (b:Branch {id: $id}) SET b:PruningBranch", { id: side.branchId });
    try {
      expect((await search(ANA, term)).edges).toEqual([]);
      expect((await search(BEN, term)).edges).toEqual([]);
      expect((await search(ADMIN, term)).edges).toEqual([]);
    } finally {
      await driver.executeQuery("MATCH (b:Branch {id: $id}) REMOVE b:PruningBranch", { id: side.branchId });
    }
  });

  it("answers BAD_USER_INPUT with the parser's message for a query Lucene cannot parse", async () => {
    for (const query of ["planner AND (", '"unterminated', "   "]) {
      const res = await as.post(ANA, SEARCH_NODES, { query });
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
      expect(res.errors![0].extensions!.field).toBe("query");
      expect(res.data).toBeNull();
    }
    const res = await as.post(ANA, SEARCH_NODES, { query: "planner AND (" });
    expect(res.errors![0].message).toMatch(/not a valid Lucene query: .*Encountered/);
    const workflows = await as.post(ANA, SEARCH_WORKFLOWS, { query: "name:(" });
    expect(codeOf(workflows)).toBe("BAD_USER_INPUT");
  });
});

describe("searchWorkflows", () => {
  it("finds workflows by name and by system prompt, among those the caller may read", async () => {
    const inName = word("trip");
    const inPrompt = word("prompt");
    const first = await story(`Lisbon ${inName}`, `You plan trips with ${inPrompt}.`, "planner");
    const second = await story(`Porto ${inName} ${inName}`, "You book hotels.");

    const byName = await searchWorkflows(ANA, { query: inName });
    const ids = byName.searchWorkflows.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ids.sort()).toEqual([first.workflowId, second.workflowId].sort());
    expect(byName.searchWorkflows.edges[0].highlight).toContain(`«${inName}»`);

    const byPrompt = await searchWorkflows(BEN, { query: inPrompt });
    expect(byPrompt.searchWorkflows.edges).toHaveLength(1);
    expect(byPrompt.searchWorkflows.edges[0].node).toMatchObject({ id: first.workflowId, status: "RUNNING" });
    expect(byPrompt.searchWorkflows.edges[0].highlight).toBe(`You plan trips with «${inPrompt}».`);

    const where = async (filter: Record<string, unknown>) =>
      (await searchWorkflows(ANA, { query: inName, where: filter })).searchWorkflows.edges.length;
    expect(await where({ agentId: "planner" })).toBe(1);
    expect(await where({ status: "RUNNING" })).toBe(2);
    expect(await where({ status: "COMPLETED" })).toBe(0);
    expect(await where({ from: new Date(Date.now() + 60000).toISOString() })).toBe(0);

    const paged = await searchWorkflows(ANA, { query: inName, first: 1 });
    expect(paged.searchWorkflows.pageInfo.hasNextPage).toBe(true);
    const next = await searchWorkflows(ANA, {
      query: inName,
      first: 1,
      after: paged.searchWorkflows.pageInfo.endCursor,
    });
    expect([paged, next].map((p) => p.searchWorkflows.edges[0].node.id).sort()).toEqual(ids.sort());
    expect(next.searchWorkflows.pageInfo.hasNextPage).toBe(false);

    expect((await searchWorkflows(CAROL, { query: inName })).searchWorkflows.edges).toEqual([]);
  });
});

describe("the full-text indexes", () => {
  it("are updated after commit (eventually consistent), so a write does not wait for Lucene", async () => {
    const { records } = await indexDriver.executeQuery(
      `SHOW FULLTEXT INDEXES YIELD name, options WHERE name IN ['workflow_node_text', 'workflow_text']
       RETURN name, options.indexConfig['fulltext.eventually_consistent'] AS eventual ORDER BY name`,
      {},
      { database: testConfig().neo4j.database },
    );
    expect(records.map((r) => [r.get("name"), r.get("eventual")])).toEqual([
      ["workflow_node_text", true],
      ["workflow_text", true],
    ]);
  });
});
