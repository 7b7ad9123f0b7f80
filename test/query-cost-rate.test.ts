import { randomBytes, randomUUID } from "node:crypto";
import type { TokenClaims } from "../src/auth/sign-token";
import { signToken } from "../src/auth/sign-token";
import { START_WORKFLOW } from "./support/documents";
import { createCallers } from "./support/callers";
import { disposeAll, onDispose, startApp, testConfig, type RunningApp } from "./support/harness";

/**
 * The per-caller rate of query cost over time (QUERY_COST_PER_MINUTE_PER_CALLER): a caller who has
 * spent its bucket is refused with RATE_LIMITED and Retry-After, over HTTP and WebSocket alike,
 * while another caller's queries still run; the bucket is held in Redis, so every instance shares it.
 */

const SECRET = randomBytes(32).toString("hex");
/** A handful of small queries fill the bucket; it refills at 0.1 unit a second, so it stays spent. */
const RATE = { costPerMinutePerCaller: 6, costBurstPerCaller: 40 };
const QUERY = `{ workflows(limit: 5) { id name } }`;

afterAll(disposeAll);

/** Subjects of their own per run, so that buckets left in Redis by an earlier run do not count. */
const caller = (name: string, role: "reader" | "writer" = "reader"): TokenClaims => ({
  sub: `${name}-${randomUUID()}`,
  roles: [role],
});

async function start(): Promise<RunningApp> {
  const base = testConfig();
  return startApp({
    auth: { mode: "secret", secret: SECRET, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
    queryLimits: { ...base.queryLimits, ...RATE },
  });
}

async function post(api: RunningApp, who: TokenClaims, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(api.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await signToken(SECRET, who)}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] };
  return { status: res.status, retryAfter: res.headers.get("retry-after"), ...body };
}

/** Sends QUERY as `who` until it is refused; fails when a bucket of 40 never runs out. */
async function spendOverHttp(api: RunningApp, who: TokenClaims) {
  for (let i = 0; i < 40; i++) {
    const res = await post(api, who, QUERY);
    if (res.errors) return { answered: i, refusal: res };
    expect(Array.isArray(res.data.workflows)).toBe(true);
  }
  throw new Error("never refused");
}

let api: RunningApp;
beforeAll(async () => {
  api = await start();
});

describe("over HTTP", () => {
  it("refuses a caller over its rate with RATE_LIMITED, HTTP 429 and Retry-After, and not another caller", async () => {
    const ana = caller("ana");
    const ben = caller("ben");
    const { answered, refusal } = await spendOverHttp(api, ana);
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(refusal.status).toBe(429);
    expect(refusal.data ?? null).toBeNull();
    const error = refusal.errors![0];
    expect(error.extensions?.code).toBe("RATE_LIMITED");
    expect(error.message).toContain("QUERY_COST_PER_MINUTE_PER_CALLER");
    expect(error.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(Number(refusal.retryAfter)).toBe(error.extensions?.retryAfterSeconds);
    // Still refused: the refusal took nothing, but nothing has refilled either.
    expect((await post(api, ana, QUERY)).errors?.[0].extensions?.code).toBe("RATE_LIMITED");

    const bens = await post(api, ben, QUERY);
    expect(bens.status).toBe(200);
    expect(bens.errors).toBeUndefined();
    expect(Array.isArray(bens.data.workflows)).toBe(true);
  });

  it("charges queries only: a caller over its query rate still writes", async () => {
    const ana = caller("ana", "writer");
    await spendOverHttp(api, ana);
    const started = await post(api, ana, START_WORKFLOW, { input: { name: "over the rate", systemPrompt: "s" } });
    expect(started.errors).toBeUndefined();
    expect(started.data.startWorkflow.id).toEqual(expect.any(String));
  });
});

describe("over WebSocket", () => {
  it("refuses a caller over its rate with RATE_LIMITED for that operation, and not another caller", async () => {
    const ana = caller("ana");
    const ben = caller("ben");
    const callers = createCallers(api, SECRET, onDispose);
    const anaWs = await callers.client(ana);
    const benWs = await callers.client(ben);
    const query = (client: Awaited<ReturnType<typeof callers.client>>) =>
      new Promise<{ data?: any; errors?: readonly { message: string; extensions?: Record<string, any> }[] }>(
        (resolve, reject) => {
          let result: any;
          client.subscribe(
            { query: QUERY },
            {
              next: (value) => (result = value),
              error: (errors) => (Array.isArray(errors) ? resolve({ errors }) : reject(errors)),
              complete: () => resolve(result),
            },
          );
        },
      );
    let refusal: Awaited<ReturnType<typeof query>> | undefined;
    let answered = 0;
    for (let i = 0; i < 40 && !refusal; i++) {
      const res = await query(anaWs);
      if (res.errors) refusal = res;
      else answered += 1;
    }
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(refusal?.errors?.[0].extensions?.code).toBe("RATE_LIMITED");
    expect(refusal?.errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);

    const bens = await query(benWs);
    expect(bens.errors).toBeUndefined();
    expect(Array.isArray(bens.data.workflows)).toBe(true);
    // The same bucket on both transports: ana, spent over WebSocket, is refused over HTTP too.
    expect((await post(api, ana, QUERY)).status).toBe(429);
  });
});

describe("across instances", () => {
  it("shares a caller's bucket through Redis: spent on one instance, it is refused on another", async () => {
    const other = await start();
    const ana = caller("ana");
    await spendOverHttp(api, ana);
    const res = await post(other, ana, QUERY);
    expect(res.status).toBe(429);
    expect(res.errors?.[0].extensions?.code).toBe("RATE_LIMITED");
    expect((await post(other, caller("ben"), QUERY)).errors).toBeUndefined();
  });
});
