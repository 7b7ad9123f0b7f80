import type { Driver } from "neo4j-driver";
import { signToken, type TokenClaims } from "../../src/auth/sign-token";

/**
 * Archive helpers shared by the archive tests and benchmarks: the HTTP routes as a caller, and
 * what the database still holds of a workflow. Free of jest.
 */

/** `GET /workflows/:id/export` as a caller (no token when `as` is undefined). */
export async function exportOver(origin: string, secret: string, workflowId: string, as?: TokenClaims) {
  const headers: Record<string, string> = as ? { authorization: `Bearer ${await signToken(secret, as)}` } : {};
  const res = await fetch(`${origin}/workflows/${workflowId}/export`, { headers });
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

/** `POST /workflows/import` as a caller. */
export async function importOver(origin: string, secret: string, body: string, as: TokenClaims) {
  const res = await fetch(`${origin}/workflows/import`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson", authorization: `Bearer ${await signToken(secret, as)}` },
    body,
  });
  return {
    status: res.status,
    json: (await res.json()) as {
      data?: { importWorkflow: { workflowId: string } };
      errors?: { message: string; extensions: { code: string } }[];
    },
  };
}

/**
 * How many stored records of each kind name the workflow (each read through its own index): all
 * zero when nothing of it is left. The driver must use `disableLosslessIntegers: true`.
 */
export async function leftOf(driver: Driver, workflowId: string) {
  const count = async (statement: string) =>
    (await driver.executeQuery(statement, { id: workflowId })).records[0].get("c") as number;
  return {
    workflow: await count("MATCH (w:Workflow {id: $id}) RETURN count(w) AS c"),
    nodes: await count("MATCH (n:WorkflowNode {workflowId: $id}) RETURN count(n) AS c"),
    branches: await count("MATCH (b:Branch {workflowId: $id}) RETURN count(b) AS c"),
    events: await count("MATCH (e:WorkflowEvent {workflowId: $id}) RETURN count(e) AS c"),
    grants: await count("MATCH (g:WorkflowGrant {workflowId: $id}) RETURN count(g) AS c"),
  };
}

/** {@link leftOf} when nothing is left. */
export const NOTHING_LEFT = { workflow: 0, nodes: 0, branches: 0, events: 0, grants: 0 };

/** The lines of an NDJSON text, each with its newline (as exportWorkflow yields them). */
export const ndjsonLines = (text: string) => text.split(/(?<=\n)/);
