import { ADMIN_SCOPE } from "../src/auth/access-scope";
import { ANONYMOUS_SUB } from "../src/auth/principal";
import { randomUUID } from "node:crypto";
import { appendNodes, type AppendNodeInput } from "../src/domain/append-nodes";
import neo4j from "neo4j-driver";
import { decodeHistoryCursor, encodeHistoryCursor, readHistoryPageStatement } from "../src/domain/history/history-page";
import { startWorkflow } from "../src/domain/start-workflow";
import type { Store } from "../src/domain/store";
import { DEFAULT_INPUT_LIMITS } from "../src/domain/validation";
import { createDriver, neo4jTarget } from "../src/infra/neo4j";
import { APPEND_NODE } from "./support/documents";
import {
  disposeAll,
  gql,
  gqlOk,
  newWorkflow,
  startApp,
  testConfig,
  testDriver,
  type RunningApp,
} from "./support/harness";

afterAll(disposeAll);

const PAGE = /* GraphQL */ `
  query History($w: ID!, $after: String, $first: Int, $where: HistoryWhere) {
    history(workflowId: $w, after: $after, first: $first, where: $where) {
      edges {
        cursor
        node {
          id
          seq
          type
          branchId
          agentId
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

describe("history cursors", () => {
  it("round-trips a seq through an opaque cursor", () => {
    for (const seq of [0, 1, 99999, Number.MAX_SAFE_INTEGER])
      expect(decodeHistoryCursor(encodeHistoryCursor(seq))).toBe(seq);
  });

  it.each([
    ["not base64", "!!!"],
    ["base64 of no JSON", Buffer.from("hello").toString("base64url")],
    ["another version", Buffer.from(JSON.stringify({ v: 2, seq: 1 })).toString("base64url")],
    ["a negative seq", Buffer.from(JSON.stringify({ v: 1, seq: -1 })).toString("base64url")],
    ["a fractional seq", Buffer.from(JSON.stringify({ v: 1, seq: 1.5 })).toString("base64url")],
    ["the library's cursor", Buffer.from("arrayconnection:1").toString("base64")],
  ])("refuses %s as BAD_USER_INPUT", (_name, cursor) => {
    expect(() => decodeHistoryCursor(cursor)).toThrow(
      expect.objectContaining({ extensions: { code: "BAD_USER_INPUT", field: "after" } }),
    );
  });
});

describe("history", () => {
  let api: RunningApp;
  beforeAll(async () => {
    api = await startApp();
  });

  it("filters by type, branch and agent, and pages each filter in seq order", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "history-filters");
    let parent = rootId;
    for (let i = 0; i < 6; i++) {
      const data = await gqlOk(api.url, APPEND_NODE, {
        input: {
          workflowId,
          parentId: parent,
          type: i % 2 ? "ACTION" : "MESSAGE",
          content: `n${i}`,
          agentId: `agent-${i % 3}`,
        },
      });
      parent = data.appendNode.id;
    }
    // A fork: appending again under the root opens a second branch.
    const fork = await gqlOk(api.url, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "fork", agentId: "agent-0" },
    });
    const seqs = async (where: Record<string, unknown>, first = 2) => {
      const all: number[] = [];
      let after: string | null = null;
      for (;;) {
        const data: Record<string, any> = await gqlOk(api.url, PAGE, { w: workflowId, where, first, after });
        all.push(...data.history.edges.map((e: { node: { seq: number } }) => e.node.seq));
        if (!data.history.pageInfo.hasNextPage) return all;
        after = data.history.pageInfo.endCursor;
      }
    };
    expect(await seqs({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await seqs({ type: "ACTION" })).toEqual([2, 4, 6]);
    expect(await seqs({ agentId: "agent-0" })).toEqual([1, 4, 7]);
    expect(await seqs({ branchId: fork.appendNode.branchId })).toEqual([7]);
    expect(await seqs({ type: "MESSAGE", agentId: "agent-0" })).toEqual([1, 7]);
  });

  it("resolves computed fields of the nodes through the selection loader, one read per page", async () => {
    const { workflowId } = await newWorkflow(api.url, "history-computed");
    const before = api.app.loaderStats.queries;
    const data = await gqlOk(
      api.url,
      `query($w: ID!) { history(workflowId: $w) { edges { node { seq pathToRoot { seq } branch { name } } } } }`,
      { w: workflowId },
    );
    expect(data.history.edges).toEqual([{ node: { seq: 0, pathToRoot: [{ seq: 0 }], branch: { name: "main" } } }]);
    expect(api.app.loaderStats.queries).toBe(before + 1);
  });

  it("answers an empty page at the end, and NOT_FOUND for an unknown workflow", async () => {
    const { workflowId } = await newWorkflow(api.url, "history-end");
    const data = await gqlOk(api.url, PAGE, { w: workflowId, after: encodeHistoryCursor(0) });
    expect(data.history).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    const res = await gql(api.url, PAGE, { w: randomUUID() });
    expect(res.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });

  describe("on a 100,000-node workflow", () => {
    const SIZE = 100000;
    let workflowId: string;
    let mainBranch: string;

    beforeAll(async () => {
      const config = testConfig();
      // The driver the app's domain operations use (integers as the domain expects them).
      const driver = createDriver(neo4jTarget(config));
      const store: Store = {
        driver,
        database: config.neo4j.database,
        ...DEFAULT_INPUT_LIMITS,
        maxContentBytes: config.maxContentBytes,
        maxBatchSize: config.maxBatchSize,
      };
      const started = await startWorkflow(
        store,
        { name: "history-100k", systemPrompt: "history" },
        ADMIN_SCOPE,
        ANONYMOUS_SUB,
      );
      workflowId = started.workflowId;
      mainBranch = started.root.branchId;
      // A chain, appended through the domain operation in batches of 1,000 (as bench/lib/fixtures.ts does).
      let parent = started.root.id;
      for (let done = 0; done < SIZE; done += 1000) {
        const batch: AppendNodeInput[] = [];
        for (let k = 0; k < 1000; k++) {
          const id = randomUUID();
          batch.push({
            id,
            workflowId,
            parentId: k === 0 ? parent : batch[k - 1].id!,
            type: "MESSAGE",
            content: `n${done + k}`,
          });
        }
        await appendNodes(store, batch, ADMIN_SCOPE);
        parent = batch[999].id!;
      }
      await driver.close();
    }, 600000);

    afterAll(async () => {
      const driver = testDriver();
      const session = driver.session({ database: testConfig().neo4j.database });
      try {
        await session.run(
          `MATCH (n:WorkflowNode {workflowId: $workflowId}) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS`,
          { workflowId },
        );
        await session.run("MATCH (b:Branch {workflowId: $workflowId}) DETACH DELETE b", { workflowId });
        await session.run("MATCH (w:Workflow {id: $workflowId}) DETACH DELETE w", { workflowId });
      } finally {
        await session.close();
      }
    }, 600000);

    it("pages through every node exactly once in seq order", async () => {
      let expected = 0;
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const data: Record<string, any> = await gqlOk(api.url, PAGE, { w: workflowId, first: 1000, after });
        const { edges, pageInfo } = data.history;
        for (const edge of edges) expect(edge.node.seq).toBe(expected++);
        pages++;
        if (!pageInfo.hasNextPage) break;
        expect(pageInfo.endCursor).toBe(edges.at(-1).cursor);
        after = pageInfo.endCursor;
      }
      expect(expected).toBe(SIZE + 1);
      expect(pages).toBe(Math.ceil((SIZE + 1) / 1000));
    }, 600000);

    it("returns a deep page as it returns the first one", async () => {
      const page = async (after: string | null) =>
        (
          await gqlOk(
            api.url,
            `query($w: ID!, $after: String) { history(workflowId: $w, first: 100, after: $after) {
              edges { node { seq depth parent { seq } } } pageInfo { hasNextPage } } }`,
            { w: workflowId, after },
          )
        ).history;
      const first = await page(null);
      const deep = await page(encodeHistoryCursor(90000));
      expect(first.edges).toHaveLength(100);
      expect(deep.edges).toHaveLength(100);
      expect(first.pageInfo.hasNextPage).toBe(true);
      expect(deep.pageInfo.hasNextPage).toBe(true);
      expect(first.edges[1].node).toEqual({ seq: 1, depth: 1, parent: { seq: 0 } });
      expect(deep.edges.map((e: { node: { seq: number } }) => e.node.seq)).toEqual(
        Array.from({ length: 100 }, (_, i) => 90001 + i),
      );
      expect(deep.edges[0].node).toEqual({ seq: 90001, depth: 90001, parent: { seq: 90000 } });
    });

    it("resolves a computed field for every node of a full page of 1,000", async () => {
      const data = await gqlOk(
        api.url,
        `query($w: ID!, $after: String) { history(workflowId: $w, first: 1000, after: $after) {
          edges { node { seq parent { seq } } } } }`,
        { w: workflowId, after: encodeHistoryCursor(50000) },
      );
      expect(data.history.edges).toHaveLength(1000);
      data.history.edges.forEach((edge: { node: { seq: number; parent: { seq: number } } }, i: number) =>
        expect(edge.node).toEqual({ seq: 50001 + i, parent: { seq: 50000 + i } }),
      );
    });

    it("reads a deep page with no more database hits than the first (the index is read from the cursor)", async () => {
      const driver = testDriver();
      const dbHits = async (afterSeq: number, byBranch: boolean) => {
        const session = driver.session({ database: testConfig().neo4j.database });
        try {
          const result = await session.run(`PROFILE ${readHistoryPageStatement(byBranch)}`, {
            workflowId,
            branchId: byBranch ? mainBranch : null,
            type: null,
            agentId: null,
            afterSeq: neo4j.int(afterSeq),
            limit: neo4j.int(101),
            // As for a caller some branches are hidden from: the filter must not cost the index.
            hiddenBranchIds: ["a-hidden-branch", "another-hidden-branch"],
          });
          const total = (plan: any): number =>
            Number(plan.dbHits ?? 0) + (plan.children ?? []).reduce((s: number, c: any) => s + total(c), 0);
          return total(result.summary.profile);
        } finally {
          await session.close();
        }
      };
      for (const byBranch of [false, true]) {
        const [first, deep] = [await dbHits(-1, byBranch), await dbHits(90000, byBranch)];
        // Tens of hits per row read (the node and its links); a read that sorted, skipped or
        // collected would touch every one of the 100,001 nodes.
        expect(first).toBeLessThan(101 * 40);
        expect(deep).toBeLessThanOrEqual(first * 1.5);
      }
    });
  });
});
