import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { getIntrospectionQuery, parse, validate, type GraphQLSchema } from "graphql";
import type { Client } from "graphql-ws";
import neo4j from "neo4j-driver";
import { loadConfig, REPO_ROOT } from "../src/config";
import { createQueryLimits, type QueryLimits } from "../src/server/query-limits";
import { createSchema } from "../src/server/schema";
import {
  disposeAll,
  gql,
  gqlOk,
  newWorkflow,
  onDispose,
  startApp,
  testDriver,
  wsClient,
  type RunningApp,
} from "./support/harness";

afterAll(disposeAll);

/** Every GraphQL document the project documents or ships: ```graphql blocks and `/* GraphQL *\/` templates. */
function documentedOperations(): { where: string; source: string }[] {
  const found: { where: string; source: string }[] = [];
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? walk(full) : [full];
    });
  const exists = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  const markdown = [
    path.join(REPO_ROOT, "README.md"),
    ...(exists(path.join(REPO_ROOT, "docs")) ? walk(path.join(REPO_ROOT, "docs")) : []),
  ];
  for (const file of markdown.filter((f) => f.endsWith(".md"))) {
    for (const match of readFileSync(file, "utf8").matchAll(/```graphql\n([\s\S]*?)```/g)) {
      found.push({ where: path.relative(REPO_ROOT, file), source: match[1] });
    }
  }
  const code = ["src", "examples", "bench", "test/support"]
    .map((d) => path.join(REPO_ROOT, d))
    .filter(exists)
    .flatMap(walk)
    .filter((f) => f.endsWith(".ts") && !f.includes(`${path.sep}generated${path.sep}`));
  for (const file of code) {
    for (const match of readFileSync(file, "utf8").matchAll(/\/\* GraphQL \*\/ `((?:[^`$]|\$(?!\{))*)`/g)) {
      found.push({ where: path.relative(REPO_ROOT, file), source: match[1] });
    }
  }
  return found;
}

describe("query limits config", () => {
  it("defaults to depth 15, 30 aliases, 3000 tokens, 30 directives, a cost of 100,000, one such query in flight per caller", () => {
    expect(loadConfig({}).queryLimits).toEqual({
      maxDepth: 15,
      maxAliases: 30,
      maxTokens: 3000,
      maxDirectives: 30,
      maxComplexity: 100000,
      costInFlightPerCaller: 100000,
      queuedPerCaller: 16,
      // The cost rate is off without authentication (test/unit/query-cost-rate.test.ts).
      costPerMinutePerCaller: 0,
      costBurstPerCaller: 100000,
      expensiveCost: 5000,
      expensiveInFlight: 1,
    });
  });

  it("reads each limit from its variable", () => {
    const config = loadConfig({
      QUERY_MAX_DEPTH: "8",
      QUERY_MAX_ALIASES: "0",
      QUERY_MAX_TOKENS: "500",
      QUERY_MAX_DIRECTIVES: "2",
      QUERY_MAX_COMPLEXITY: "5000",
    });
    expect(config.queryLimits).toEqual({
      maxDepth: 8,
      maxAliases: 0,
      maxTokens: 500,
      maxDirectives: 2,
      maxComplexity: 5000,
      // The budget in flight follows the cost limit unless set.
      costInFlightPerCaller: 5000,
      queuedPerCaller: 16,
      costPerMinutePerCaller: 0,
      // So does the cost rate's burst.
      costBurstPerCaller: 5000,
      expensiveCost: 5000,
      expensiveInFlight: 1,
    });
    const budget = loadConfig({ QUERY_COST_IN_FLIGHT_PER_CALLER: "0", QUERY_QUEUE_PER_CALLER: "3" }).queryLimits;
    expect(budget).toMatchObject({ costInFlightPerCaller: 0, queuedPerCaller: 3 });
  });

  it.each([
    "QUERY_MAX_DEPTH",
    "QUERY_MAX_ALIASES",
    "QUERY_MAX_TOKENS",
    "QUERY_MAX_DIRECTIVES",
    "QUERY_MAX_COMPLEXITY",
    "QUERY_COST_IN_FLIGHT_PER_CALLER",
    "QUERY_QUEUE_PER_CALLER",
  ])("refuses a %s that is not a whole number, naming the variable", (name) => {
    expect(() => loadConfig({ [name]: "-1" })).toThrow(name);
    expect(() => loadConfig({ [name]: "lots" })).toThrow(name);
  });
});

/** `{ a { b { … } } }` nested `depth` fields deep under a history node. */
const deepSelection = (depth: number) => "children { ".repeat(depth) + "id" + " }".repeat(depth);

describe("query limits (no services)", () => {
  let schema: GraphQLSchema;
  let limits: QueryLimits;
  beforeAll(async () => {
    // Building the schema does not connect: the driver is never used.
    const driver = neo4j.driver("bolt://127.0.0.1:1");
    onDispose(() => driver.close());
    schema = await createSchema(driver);
    limits = createQueryLimits(schema, loadConfig({}).queryLimits);
  });

  it("passes every documented and shipped operation under the default limits", () => {
    const operations = documentedOperations();
    expect(operations.length).toBeGreaterThan(10);
    for (const { where, source } of operations) {
      const document = parse(source);
      expect({ where, source, errors: validate(schema, document).map((e) => e.message) }).toEqual({
        where,
        source,
        errors: [],
      });
      const refused = [...limits.checkSource(source), ...limits.checkOperation(document, {})];
      expect({ where, source, refused: refused.map((e) => e.message) }).toEqual({ where, source, refused: [] });
    }
  });

  it.each([
    ["depth", `{ workflowNodes(limit: 1) { ${deepSelection(29)} } }`, 15, 31],
    ["aliases", `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: __typename`).join(" ")} }`, 30, 500],
    ["directives", `{ __typename ${"@include(if: true) ".repeat(40)} }`, 30, 40],
    ["complexity", `{ workflowNodes(limit: 1000000) { id } }`, 100000, 1000001],
    ["complexity", `query($w: ID!) { history(workflowId: $w, first: 1000000) { edges { cursor } } }`, 100000, 2000001],
  ])("refuses an operation over the %s limit, naming it with limit and actual", (rule, source, limit, actual) => {
    const [error] = limits.checkOperation(parse(source), { w: "x" });
    expect(error?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule, limit, actual });
    expect(error?.message).toContain(`QUERY_MAX_${rule.toUpperCase()}`);
  });

  it("counts the tokens of a document before it is parsed", () => {
    const source = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    const [error] = limits.checkSource(source);
    expect(error?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule: "tokens", limit: 3000, actual: 3002 });
  });

  it("multiplies a list's cost by the items it asks for, with the default page size when it asks for none", () => {
    const cost = (source: string) => {
      const strict = createQueryLimits(schema, { ...loadConfig({}).queryLimits, maxComplexity: 1 });
      return strict.checkOperation(parse(source), {})[0]?.extensions.actual;
    };
    expect(cost("{ workflowNodes(limit: 10) { id seq } }")).toBe(1 + 10 * 2);
    expect(cost("{ workflowNodes(limit: 10) { id children(limit: 5) { id } } }")).toBe(1 + 10 * (1 + 1 + 5 * 1));
    expect(cost("{ workflowNodes { id } }")).toBe(1 + 100 * 1);
    expect(cost("{ workflowNodes(limit: 10, offset: 1000) { id } }")).toBe(1 + 1000 + 10);
    // Ids are unique: a read by id returns at most as many items as it names.
    expect(cost('{ workflowNodes(where: { id: { eq: "a" } }) { id seq } }')).toBe(1 + 1 * 2);
    expect(cost('{ workflowNodes(where: { id: { in: ["a", "b", "c"] } }) { id } }')).toBe(1 + 3 * 1);
  });

  it("counts a path as 200 steps, so a page of paths is bounded by the cost like any list", () => {
    const strict = createQueryLimits(schema, { ...loadConfig({}).queryLimits, maxComplexity: 1 });
    const cost = (source: string) => strict.checkOperation(parse(source), { w: "x" })[0]?.extensions.actual;
    expect(cost("{ workflowNodes(limit: 10) { pathToRoot { id } } }")).toBe(1 + 10 * (1 + 200 * 1));
    expect(cost("{ branches(limit: 1) { path { id seq } } }")).toBe(1 + 1 * (1 + 200 * 2));
    const page = `query($w: ID!) { history(workflowId: $w, first: 900) { edges { node { pathToRoot { id } } } } }`;
    expect(limits.checkOperation(parse(page), { w: "x" })[0]?.extensions).toMatchObject({ rule: "complexity" });
  });

  it.each([
    ["directly", `{ workflowNodes(limit: 1) { pathToRoot { pathToRoot { id } } } }`],
    ["through a branch", `{ workflowNodes(limit: 1) { pathToRoot { branch { path { id } } } } }`],
    [
      "through a fragment",
      `query { workflowNodes(limit: 1) { ...P } } fragment P on WorkflowNode { pathToRoot { ...Q } } fragment Q on WorkflowNode { id pathToRoot { id } }`,
    ],
  ])("refuses a path selected inside another path (%s), whatever its cost", (_how, source) => {
    const [error] = limits.checkOperation(parse(source), {});
    expect(error?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule: "nestedPaths" });
  });

  it("lets the introspection query through (the API explorer sends it)", () => {
    const source = getIntrospectionQuery();
    expect([...limits.checkSource(source), ...limits.checkOperation(parse(source), {})]).toEqual([]);
  });
});

/** Sends one operation over graphql-ws and resolves with its first result or its errors. */
function wsOnce(client: Client, query: string, variables: Record<string, unknown> = {}) {
  return new Promise<{ data?: any; errors?: any[] }>((resolve) => {
    const stop = client.subscribe(
      { query, variables },
      {
        next: (value) => {
          stop();
          resolve(value as { data?: any; errors?: any[] });
        },
        error: (errors) => resolve({ errors: Array.isArray(errors) ? errors : [errors] }),
        complete: () => undefined,
      },
    );
  });
}

describe("query limits on the running API", () => {
  let api: RunningApp;
  let workflowId: string;
  let rootId: string;
  beforeAll(async () => {
    api = await startApp();
    ({ workflowId, rootId } = await newWorkflow(api.url, "query-limits"));
  });

  /** Each operation also asks for a computed field of a history node, which only the selection loader reads. */
  const loaded = (extra: string, first = 1) =>
    `query($w: ID!) { history(workflowId: $w, first: ${first}) { edges { node { parent { id } ${extra} } } } }`;
  const refused: [string, string, string][] = [
    ["a depth-30 query", loaded(deepSelection(27)), "depth"],
    [
      "500 aliases",
      `query($w: ID!) { history(workflowId: $w) { edges { node { parent { id } } } } ${Array.from(
        { length: 500 },
        (_, i) => `a${i}: __typename`,
      ).join(" ")} }`,
      "aliases",
    ],
    ["first: 1000000", loaded("", 1000000), "complexity"],
    [
      "limit: 1000000",
      `query($w: ID!) { workflowNodes(limit: 1000000) { id } h: history(workflowId: $w) { edges { node { parent { id } } } } }`,
      "complexity",
    ],
  ];

  it("runs the control operation: the loader counter moves when an operation executes", async () => {
    const before = api.app.loaderStats.queries;
    await gqlOk(api.url, loaded(""), { w: workflowId });
    expect(api.app.loaderStats.queries).toBeGreaterThan(before);
  });

  it.each(refused)("refuses %s over HTTP with 400 QUERY_TOO_COMPLEX before running it", async (_name, query, rule) => {
    const before = api.app.loaderStats.queries;
    const res = await gql(api.url, query, { w: workflowId });
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule });
    expect(typeof res.errors![0].extensions!.limit).toBe("number");
    expect(res.errors![0].extensions!.actual).toBeGreaterThan(res.errors![0].extensions!.limit as number);
    expect(api.app.loaderStats.queries).toBe(before);
  });

  it.each(refused)(
    "refuses %s over WebSocket with an error message for that operation; the socket stays usable",
    async (_name, query, rule) => {
      const client = wsClient(api.wsUrl);
      let closed = false;
      client.on("closed", () => (closed = true));
      const before = api.app.loaderStats.queries;
      const result = await wsOnce(client, query, { w: workflowId });
      expect(result.data).toBeUndefined();
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule });
      expect(api.app.loaderStats.queries).toBe(before);
      const ok = await wsOnce(client, `query($w: ID!) { history(workflowId: $w) { edges { node { seq } } } }`, {
        w: workflowId,
      });
      expect(ok.data?.history.edges[0].node.seq).toBe(0);
      expect(closed).toBe(false);
    },
  );

  it("refuses a too-deep subscription over WebSocket without opening it", async () => {
    const client = wsClient(api.wsUrl);
    const result = await wsOnce(
      client,
      `subscription($w: ID!) { nodeAdded(workflowId: $w) { ${deepSelection(30)} } }`,
      { w: workflowId },
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule: "depth" });
    expect(api.app.liveSubscribers(workflowId)).toBe(0);
  });

  it("refuses a document with too many tokens over HTTP before parsing it", async () => {
    const query = `{ ${Array.from({ length: 2000 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    const res = await gql(api.url, query);
    expect(res.status).toBe(400);
    expect(res.errors![0].extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule: "tokens", limit: 3000 });
  });

  it("applies the limits from the config", async () => {
    const strict = await startApp({ queryLimits: { ...loadConfig({}).queryLimits, maxDepth: 3 } });
    const res = await gql(strict.url, `query($w: ID!) { history(workflowId: $w) { edges { node { seq } } } }`, {
      w: workflowId,
    });
    expect(res.status).toBe(400);
    expect(res.errors![0].extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule: "depth", limit: 3, actual: 4 });
    expect(res.errors![0].message).toContain("QUERY_MAX_DEPTH");
  });

  it("gives every unsized generated list the default page size, over HTTP and WebSocket", async () => {
    const wide = await newWorkflow(api.url, "query-limits-wide");
    const input = Array.from({ length: 150 }, (_, i) => ({
      workflowId: wide.workflowId,
      parentId: wide.rootId,
      type: "MESSAGE",
      content: `c${i}`,
    }));
    await gqlOk(api.url, `mutation($input: [AppendNodeInput!]!) { appendNodes(input: $input) { id } }`, { input });
    const query = `query($w: ID!, $l: Int) {
      all: workflowNodes(where: {workflowId: {eq: $w}}) { id }
      unset: workflowNodes(where: {workflowId: {eq: $w}}, limit: $l) { id }
      sized: workflowNodes(where: {workflowId: {eq: $w}}, limit: 151) { id }
      root: workflowNodes(where: {workflowId: {eq: $w}, seq: {eq: 0}}) {
        children { id }
        childrenConnection { edges { node { id } } pageInfo { hasNextPage } }
      }
    }`;
    for (const data of [
      await gqlOk(api.url, query, { w: wide.workflowId }),
      (await wsOnce(wsClient(api.wsUrl), query, { w: wide.workflowId })).data,
    ]) {
      expect(data.all).toHaveLength(100);
      expect(data.unset).toHaveLength(100);
      expect(data.sized).toHaveLength(151);
      expect(data.root[0].children).toHaveLength(100);
      expect(data.root[0].childrenConnection.edges).toHaveLength(100);
      expect(data.root[0].childrenConnection.pageInfo.hasNextPage).toBe(true);
    }
  });

  describe("negative and malformed arguments are BAD_USER_INPUT", () => {
    const bad: [string, string, Record<string, unknown>][] = [
      ["workflowNodes(limit: -1)", `{ workflowNodes(limit: -1) { id } }`, {}],
      ["workflowNodes(offset: -5)", `{ workflowNodes(limit: 1, offset: -5) { id } }`, {}],
      ["workflowNodes(limit: 1001)", `{ workflowNodes(limit: 1001) { id } }`, {}],
      ["Branch.nodes(first: 5000)", `{ branches(limit: 1) { nodes(first: 5000) { id } } }`, {}],
      ["limit: -3 as a variable", `query($l: Int) { workflowNodes(limit: $l) { id } }`, { l: -3 }],
      ["children(limit: -1)", `{ workflowNodes(limit: 1) { children(limit: -1) { id } } }`, {}],
      [
        "childrenConnection(first: -1)",
        `{ workflowNodes(limit: 1) { childrenConnection(first: -1) { edges { node { id } } } } }`,
        {},
      ],
      [
        "childrenConnection(after: malformed)",
        `{ workflowNodes(limit: 1) { childrenConnection(first: 1, after: "garbage") { edges { node { id } } } } }`,
        {},
      ],
      ["Branch.nodes(first: -1)", `{ branches(limit: 1) { nodes(first: -1) { id } } }`, {}],
      ["Branch.summary(maxLength: -1)", `{ branches(limit: 1) { summary(maxLength: -1) } }`, {}],
      ["history(first: -1)", `query($w: ID!) { history(workflowId: $w, first: -1) { edges { cursor } } }`, {}],
      ["history(first: 5000)", `query($w: ID!) { history(workflowId: $w, first: 5000) { edges { cursor } } }`, {}],
      [
        "history(after: malformed)",
        `query($w: ID!) { history(workflowId: $w, after: "garbage") { edges { cursor } } }`,
        {},
      ],
      [
        "history(after: a library cursor)",
        `query($w: ID!) { history(workflowId: $w, after: "YXJyYXljb25uZWN0aW9uOjE=") { edges { cursor } } }`,
        {},
      ],
      ["workflowEvents(first: -1)", `query($w: ID!) { workflowEvents(workflowId: $w, first: -1) { seq } }`, {}],
      ["an invalid DateTime literal", `{ workflowNodes(limit: 1, where: {timestamp: {gt: "notadate"}}) { id } }`, {}],
      [
        "a DateTime variable Neo4j cannot parse",
        `query($t: DateTime) { workflowNodes(limit: 1, where: {timestamp: {gt: $t}}) { id } }`,
        { t: "Jan 1 2024" },
      ],
      [
        "a DateTime variable that is no date",
        `query($t: DateTime) { workflowNodes(limit: 1, where: {timestamp: {gt: $t}}) { id } }`,
        { t: "nope" },
      ],
    ];

    it.each(bad)("%s", async (_name, query, variables) => {
      const res = await gql(api.url, query, { w: workflowId, ...variables });
      expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect(res.data ?? null).toBeNull();
    });

    it("refuses a mutation whose result selection has a bad argument before anything is written", async () => {
      const driver = testDriver();
      const id = randomUUID();
      const res = await gql(
        api.url,
        `mutation($i: AppendNodeInput!) { appendNode(input: $i) { id children(limit: -1) { id } } }`,
        { i: { id, workflowId, parentId: rootId, type: "MESSAGE", content: "never written" } },
      );
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      const found = await driver.executeQuery(
        "MATCH (w:Workflow {id: $workflowId}) OPTIONAL MATCH (n:WorkflowNode {id: $id}) RETURN w.lastSeq AS lastSeq, n IS NOT NULL AS written",
        { workflowId, id },
      );
      expect(found.records[0].get("written")).toBe(false);
      expect(found.records[0].get("lastSeq")).toBe(0);
    });
  });
});
