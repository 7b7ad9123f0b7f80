import { randomBytes, randomUUID } from "node:crypto";
import type { TokenClaims } from "../src/auth/sign-token";
import { signToken } from "../src/auth/sign-token";
import { APPEND_NODES, START_WORKFLOW } from "./support/documents";
import { createCallers } from "./support/callers";
import { disposeAll, onDispose, startApp, testConfig, type RunningApp } from "./support/harness";

/**
 * The per-caller budget of query cost in flight (QUERY_COST_IN_FLIGHT_PER_CALLER): a caller's
 * expensive queries run one at a time, the rest wait in line (QUERY_QUEUE_PER_CALLER) and past the
 * line are RATE_LIMITED; another caller is not held up by it.
 */

const SECRET = randomBytes(32).toString("hex");
const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
const BEN: TokenClaims = { sub: "ben", roles: ["admin"] };
const HISTORY = `query ($w: ID!) { history(workflowId: $w, first: 500) { edges { node { id seq content } } } }`;

afterAll(disposeAll);

async function startWith(queuedPerCaller: number): Promise<RunningApp> {
  const base = testConfig();
  return startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
    // Every query costs more than 1: one at a time per caller.
    queryLimits: { ...base.queryLimits, costInFlightPerCaller: 1, queuedPerCaller },
  });
}

async function post(api: RunningApp, who: TokenClaims, query: string, variables: Record<string, unknown>) {
  const res = await fetch(api.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await signToken(SECRET, who)}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: { extensions?: Record<string, unknown> }[] };
  return { status: res.status, retryAfter: res.headers.get("retry-after"), ...body };
}

/** ana's workflow of 500 messages, so that each history page takes a while to read. */
async function bigWorkflow(api: RunningApp): Promise<string> {
  const started = await post(api, ANA, START_WORKFLOW, { input: { name: "budget", systemPrompt: "s" } });
  const workflowId = started.data.startWorkflow.id as string;
  let parentId = started.data.startWorkflow.root.id as string;
  const nodes = Array.from({ length: 499 }, (_, i) => {
    const id = randomUUID();
    const node = { id, workflowId, parentId, type: "MESSAGE", content: `message ${i} ${"x".repeat(200)}` };
    parentId = id;
    return node;
  });
  const appended = await post(api, ANA, APPEND_NODES, { input: nodes });
  expect(appended.errors).toBeUndefined();
  return workflowId;
}

describe("with no line (QUERY_QUEUE_PER_CALLER=0)", () => {
  let api: RunningApp;
  let workflowId: string;
  beforeAll(async () => {
    api = await startWith(0);
    workflowId = await bigWorkflow(api);
  });

  it("refuses a caller's queries beyond the one running with RATE_LIMITED (429), and not another caller's", async () => {
    const [anas, bens] = await Promise.all([
      Promise.all(Array.from({ length: 8 }, () => post(api, ANA, HISTORY, { w: workflowId }))),
      // ben's queries, one after another, while ana's are in flight.
      (async () => {
        const answers = [];
        for (let i = 0; i < 3; i++) answers.push(await post(api, BEN, `{ workflows(limit: 1) { id } }`, {}));
        return answers;
      })(),
    ]);
    const answered = anas.filter((r) => !r.errors);
    const refused = anas.filter((r) => r.errors);
    expect(answered.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of answered) expect(r.data.history.edges).toHaveLength(500);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.retryAfter).toBe("1");
      expect(r.errors![0].extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: 1 });
    }
    // ben ran one query at a time of his own, whatever ana had in flight.
    expect(bens.filter((r) => r.errors)).toEqual([]);
    // Nothing stays taken: ana's next query runs.
    expect((await post(api, ANA, HISTORY, { w: workflowId })).errors).toBeUndefined();
  });

  it("applies the same budget to queries over WebSocket", async () => {
    const ws = await createCallers(api, SECRET, onDispose).client(ANA);
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, () => ws.iterate({ query: HISTORY, variables: { w: workflowId } }).next()),
      );
      const codes = results.map((r) => (r.value as any)?.errors?.[0]?.extensions?.code ?? "ok");
      expect(codes).toContain("ok");
      expect(codes).toContain("RATE_LIMITED");
      expect(codes.every((c) => c === "ok" || c === "RATE_LIMITED")).toBe(true);
    } finally {
      await ws.dispose();
    }
  });
});

describe("with a line (QUERY_QUEUE_PER_CALLER=16)", () => {
  let api: RunningApp;
  let workflowId: string;
  beforeAll(async () => {
    api = await startWith(16);
    workflowId = await bigWorkflow(api);
  });

  it("gives the room back when a query is refused by another check while it waits in line", async () => {
    const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    const mixed = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 ? post(api, ANA, aliases, {}) : post(api, ANA, HISTORY, { w: workflowId }),
      ),
    );
    expect(mixed.filter((r, i) => i % 2 === 1 && r.errors?.[0]?.extensions?.code === "QUERY_TOO_COMPLEX")).toHaveLength(
      6,
    );
    expect(mixed.filter((r, i) => i % 2 === 0 && !r.errors)).toHaveLength(6);
    // Nothing is left holding the budget: the next query runs (a leaked slot would hold it forever).
    expect((await post(api, ANA, HISTORY, { w: workflowId })).errors).toBeUndefined();
  });

  it("runs a caller's queries one after another, and answers every one", async () => {
    const anas = await Promise.all(Array.from({ length: 8 }, () => post(api, ANA, HISTORY, { w: workflowId })));
    for (const r of anas) {
      expect(r.errors).toBeUndefined();
      expect(r.data.history.edges).toHaveLength(500);
    }
  });
});
