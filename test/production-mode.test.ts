import { disposeAll, gql, startApp, type RunningApp } from "./support/harness";
import { openAcked } from "./support/raw-ws";

/** NODE_ENV=production (security headers, no field suggestions) and INTROSPECTION=false. */
let production: RunningApp;
let development: RunningApp;

beforeAll(async () => {
  [production, development] = await Promise.all([
    startApp({ production: true, introspection: false }),
    startApp({ production: false }),
  ]);
});
afterAll(disposeAll);

const TYPO = '{ decisionPoint(workflowId: "x") { seq } }';
const INTROSPECT = "{ __schema { queryType { name } } }";

describe("production security headers", () => {
  it("sends nosniff, no-referrer, DENY framing and a CSP that lets nothing load from API responses, and no X-Powered-By", async () => {
    const res = await fetch(production.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(res.headers.get("x-powered-by")).toBeNull();
    const health = await fetch(`${production.origin}/healthz`);
    expect(health.headers.get("x-content-type-options")).toBe("nosniff");
    expect(health.headers.get("x-powered-by")).toBeNull();
  });

  it("serves GraphiQL with a CSP that lets it load scripts, styles, workers and connections from this origin only", async () => {
    const res = await fetch(production.url, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    // No other host, and no inline or eval'd script.
    expect(csp).not.toMatch(/https?:|\*|unsafe-eval/);
    expect(csp.match(/script-src [^;]*/)![0]).not.toContain("unsafe-inline");
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/web/graphiql/main.js">');
    expect(html).not.toMatch(/cdn|https?:\/\//);
  });

  it("sends none of them outside production, and no X-Powered-By there either", async () => {
    const res = await fetch(`${development.origin}/healthz`);
    expect(res.headers.get("content-security-policy")).toBeNull();
    expect(res.headers.get("x-powered-by")).toBeNull();
  });
});

describe("field suggestions", () => {
  it("are stripped from validation errors in production, over HTTP and WebSocket", async () => {
    const dev = await gql(development.url, TYPO);
    expect(dev.errors?.[0].message).toMatch(/Did you mean "decisionPoints"\?/);
    const prod = await gql(production.url, TYPO);
    expect(prod.errors?.[0].message).toBe('Cannot query field "decisionPoint" on type "Query".');
    const raw = await openAcked(production.wsUrl);
    raw.send({ id: "1", type: "subscribe", payload: { query: TYPO } });
    const answer = await raw.nextFor("1", ["error", "next"]);
    expect(answer.type).toBe("error");
    expect(answer.payload[0].message).toBe('Cannot query field "decisionPoint" on type "Query".');
  });
});

describe("INTROSPECTION", () => {
  it("when false, refuses __schema over HTTP and WebSocket", async () => {
    const http = await gql(production.url, INTROSPECT);
    expect(http.data ?? null).toBeNull();
    expect(http.errors?.[0].message).toMatch(/introspection/i);
    const raw = await openAcked(production.wsUrl);
    raw.send({ id: "1", type: "subscribe", payload: { query: INTROSPECT } });
    const answer = await raw.nextFor("1", ["error", "next"]);
    expect(answer.type).toBe("error");
    expect(answer.payload[0].message).toMatch(/introspection/i);
  });

  it("is on by default", async () => {
    const http = await gql(development.url, INTROSPECT);
    expect(http.data?.__schema.queryType.name).toBe("Query");
    const raw = await openAcked(development.wsUrl);
    raw.send({ id: "1", type: "subscribe", payload: { query: INTROSPECT } });
    const answer = await raw.nextFor("1", ["error", "next"]);
    expect(answer.payload.data.__schema.queryType.name).toBe("Query");
  });
});
