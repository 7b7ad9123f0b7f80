import type { Driver } from "neo4j-driver";
import type { GraphQLResponse } from "./harness";

/**
 * Helpers that look at the database with a raw driver (not through the API), to check what a
 * request wrote — or that it wrote nothing — and at response bodies, to check they leak nothing.
 */

/** Text that must never reach a client: stack traces and database internals. */
const LEAKS: [string, RegExp][] = [
  ["a stack trace", /stacktrace|\n\s+at |\bat .*\.(ts|js):\d+/i],
  ["the database's name", /neo4j/i],
  ["Cypher", /cypher|\bMATCH\b|\bMERGE\b|\bUNWIND\b/],
];

/** Fails when a response body holds a stack trace or names the database or its query language. */
export function expectNoLeak(body: string): void {
  for (const [what, pattern] of LEAKS) {
    if (pattern.test(body)) throw new Error(`the response leaks ${what}: ${body.slice(0, 2000)}`);
  }
}

/** POSTs a GraphQL operation like the harness's `gql`, but checks the body leaks nothing first. */
export async function checkedGql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  expectNoLeak(text);
  return { status: res.status, ...(JSON.parse(text) as object) };
}

/** The code of the one error a failed request returned. */
export function codeOf(res: GraphQLResponse): string | undefined {
  expect(res.data ?? null).toBeNull();
  expect(res.errors).toHaveLength(1);
  return res.errors![0].extensions?.code;
}

/**
 * Everything a workflow holds, read with the raw driver: its counters, its stored nodes, branches
 * and event records, and every relationship touching one of its nodes (by type).
 */
export async function workflowState(driver: Driver, workflowId: string) {
  const { records } = await driver.executeQuery(
    `MATCH (w:Workflow {id: $id})
     CALL (w) { OPTIONAL MATCH (n:WorkflowNode {workflowId: w.id}) RETURN count(n) AS nodes }
     CALL (w) { OPTIONAL MATCH (b:Branch {workflowId: w.id}) RETURN count(b) AS branches }
     CALL (w) { OPTIONAL MATCH (x:WorkflowEvent {workflowId: w.id}) RETURN count(x) AS records }
     CALL (w) {
       OPTIONAL MATCH (n:WorkflowNode {workflowId: w.id})-[r]-()
       WITH DISTINCT r
       WITH type(r) AS type, count(r) AS c ORDER BY type
       RETURN collect([type, c]) AS edges
     }
     RETURN w.lastSeq AS lastSeq, w.nodeCount AS nodeCount, coalesce(w.branchCount, 1) AS branchCount,
            nodes, branches, records, edges`,
    { id: workflowId },
  );
  return records[0]?.toObject();
}

/** The workflow's `lastSeq`, read with the raw driver. */
export async function lastSeqOf(driver: Driver, workflowId: string): Promise<number> {
  const state = await workflowState(driver, workflowId);
  if (!state) throw new Error(`workflow ${workflowId} is not stored`);
  return state.lastSeq;
}

/** True when a node, a workflow or a branch with this id is stored. */
export async function idExists(driver: Driver, id: string): Promise<boolean> {
  const { records } = await driver.executeQuery(
    `OPTIONAL MATCH (n:WorkflowNode {id: $id}) OPTIONAL MATCH (w:Workflow {id: $id}) OPTIONAL MATCH (b:Branch {id: $id})
     RETURN count(n) + count(w) + count(b) AS c`,
    { id },
  );
  return records[0].get("c") > 0;
}

/**
 * Sends `request` and checks it wrote nothing: each of `workflowIds` holds exactly what it held
 * before (counters, nodes, branches, event records, edges), and none of `ids` exists.
 */
export async function expectNothingWritten<T>(
  driver: Driver,
  workflowIds: string[],
  ids: string[],
  request: () => Promise<T>,
): Promise<T> {
  const before = await Promise.all(workflowIds.map((id) => workflowState(driver, id)));
  for (const state of before) expect(state).toBeDefined();
  const res = await request();
  expect(await Promise.all(workflowIds.map((id) => workflowState(driver, id)))).toEqual(before);
  for (const id of ids) expect(await idExists(driver, id)).toBe(false);
  return res;
}
