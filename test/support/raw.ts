import type { Driver } from "neo4j-driver";
import type { GraphQLResponse } from "./harness";
import { idExists, workflowState } from "./workflow-state";

/**
 * Jest assertions on what a request did: that its response body leaks nothing, which error code
 * it got, and (with the raw reads of ./workflow-state) that it wrote nothing.
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

/** POSTs a raw body to the GraphQL endpoint; checks the response leaks nothing, then parses it. */
export async function checkedPost(url: string, body: string): Promise<GraphQLResponse> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const text = await res.text();
  expectNoLeak(text);
  return { status: res.status, ...(JSON.parse(text) as object) };
}

/** POSTs a GraphQL operation like the harness's `gql`, but checks the body leaks nothing first. */
export function checkedGql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse> {
  return checkedPost(url, JSON.stringify({ query, variables }));
}

/** The code of the one error a failed request returned. */
export function codeOf(res: GraphQLResponse): string | undefined {
  expect(res.data ?? null).toBeNull();
  expect(res.errors).toHaveLength(1);
  return res.errors![0].extensions?.code;
}

/**
 * Sends `request` and checks it wrote nothing: each of `workflowIds` holds exactly what it held
 * before (see `workflowState`: the Workflow's properties and counters, every WorkflowNode, Branch
 * and WorkflowEvent with its properties, nodes by label, relationships by type with their ends and
 * properties), and none of `ids` exists as a node, workflow or branch.
 */
export async function expectNothingWritten<T>(
  driver: Driver,
  workflowIds: string[],
  ids: string[],
  request: () => Promise<T>,
): Promise<T> {
  const before = await Promise.all(workflowIds.map((id) => workflowState(driver, id)));
  const res = await request();
  expect(await Promise.all(workflowIds.map((id) => workflowState(driver, id)))).toEqual(before);
  for (const id of ids) expect(await idExists(driver, id)).toBe(false);
  return res;
}
