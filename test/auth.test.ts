import { randomBytes, randomUUID } from "node:crypto";
import { createClient, type Client } from "graphql-ws";
import { SignJWT, type JWTPayload } from "jose";
import type { Driver } from "neo4j-driver";
import WebSocket from "ws";
import { signToken, type TokenClaims } from "../src/auth/sign-token";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { disposeAll, eventually, onDispose, startApp, subscribe, testDriver } from "./support/harness";
import type { RunningApp } from "./support/harness";
import { expectNoLeak } from "./support/raw";
import { idExists, workflowState } from "./support/workflow-state";

/**
 * Authentication and role gates end to end with HS256 tokens: who may call over HTTP and
 * WebSocket, which tokens are refused and how, and that a refused write leaves nothing behind.
 */

const SECRET = randomBytes(32).toString("hex");
const ISSUER = "https://issuer.test";
const AUDIENCE = "workflow-graph-test";

let api: RunningApp;
let driver: Driver;
beforeAll(async () => {
  // No clock tolerance, so that expiry is observable within a test.
  api = await startApp({
    auth: { mode: "secret", secret: SECRET, issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 0 },
  });
  driver = testDriver();
});
afterAll(disposeAll);

/** A token the app accepts, for `sub` with `roles`. */
const tokenFor = (claims: Omit<TokenClaims, "issuer" | "audience">) =>
  signToken(SECRET, { issuer: ISSUER, audience: AUDIENCE, ...claims });

/** Signs an arbitrary payload (for tokens the app must refuse). */
async function rawToken(payload: JWTPayload, options: { secret?: string; expiresIn?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: "ana", roles: ["writer"], ...payload })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(now - 3600)
    .setExpirationTime(now + (options.expiresIn ?? 600))
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

interface Response {
  status: number;
  headers: Headers;
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs an operation with an optional `Authorization` header; checks nothing internal leaks. */
async function post(query: string, variables: Record<string, unknown>, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(api.url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  expectNoLeak(text);
  return { status: res.status, headers: res.headers, ...(JSON.parse(text) as object) };
}

const bearer = (token: string) => `Bearer ${token}`;
const WORKFLOWS = /* GraphQL */ `
  query Workflows($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      id
      name
    }
  }
`;
const NODE_ADDED = /* GraphQL */ `
  subscription NodeAdded($workflowId: ID!) {
    nodeAdded(workflowId: $workflowId, afterSeq: 0) {
      id
      content
    }
  }
`;

/** Starts a workflow as a writer; returns its id and root id. */
/** A workflow started (so owned) by the writer `writer-1`, who grants READ to each of `readers`. */
async function writerWorkflow(readers: string[] = []): Promise<{ workflowId: string; rootId: string }> {
  const writer = bearer(await tokenFor({ sub: "writer-1", roles: ["writer"] }));
  const res = await post(START_WORKFLOW, { input: { name: "auth", systemPrompt: "You are a test agent." } }, writer);
  expect(res.errors).toBeUndefined();
  const workflowId = res.data!.startWorkflow.id as string;
  for (const principal of readers) {
    const granted = await post(GRANT, { input: { workflowId, principal, access: "READ" } }, writer);
    expect(granted.errors).toBeUndefined();
  }
  return { workflowId, rootId: res.data!.startWorkflow.root.id };
}

const GRANT = `mutation ($input: GrantWorkflowAccessInput!) { grantWorkflowAccess(input: $input) { id } }`;

/** A graphql-ws client sending `authorization` in its connectionParams. */
function authedClient(authorization: string): Client {
  const client = createClient({
    url: api.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization },
  });
  onDispose(() => client.dispose());
  return client;
}

/**
 * Opens a raw graphql-transport-ws connection and sends connection_init with `payload`.
 * Resolves once the server acknowledges it or closes the socket (with the close code and reason).
 */
function connectRaw(payload: Record<string, unknown>): Promise<{
  acked: boolean;
  socket: WebSocket;
  closed: Promise<{ code: number; reason: string; at: number }>;
}> {
  const socket = new WebSocket(api.wsUrl, "graphql-transport-ws");
  onDispose(() => socket.terminate());
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })),
  );
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init", payload })));
    socket.on("message", (data) => {
      if (JSON.parse(data.toString()).type === "connection_ack") resolve({ acked: true, socket, closed });
    });
    void closed.then(() => resolve({ acked: false, socket, closed }));
  });
}

/** The tokens (or Authorization values) that must be refused, each with what the refusal says. */
const BAD_CREDENTIALS: [string, () => Promise<string | undefined>, RegExp][] = [
  ["no Authorization at all", async () => undefined, /Authentication required/],
  ["a scheme other than Bearer", async () => `Basic ${Buffer.from("ana:pw").toString("base64")}`, /Bearer/],
  ["a token that is not a JWT", async () => bearer("not-a-jwt"), /Malformed token/],
  ["a token signed with another secret", async () => bearer(await rawToken({}, { secret: SECRET + "x" })), /signature/],
  ["an expired token", async () => bearer(await rawToken({}, { expiresIn: -5 })), /expired/],
  ["a token from another issuer", async () => bearer(await rawToken({ iss: "https://evil.test" })), /issuer/],
  ["a token for another audience", async () => bearer(await rawToken({ aud: "another-api" })), /audience/],
  ["a token without sub", async () => bearer(await rawToken({ sub: undefined })), /"sub"/],
  [
    "an unsigned token (alg none)",
    async () => {
      const body = Buffer.from(JSON.stringify({ sub: "ana", roles: ["admin"], iss: ISSUER, aud: AUDIENCE, exp: 4e9 }));
      return bearer(`${Buffer.from('{"alg":"none"}').toString("base64url")}.${body.toString("base64url")}.`);
    },
    /algorithm|Malformed/,
  ],
  ["roles that are not an array", async () => bearer(await rawToken({ roles: "admin" })), /roles/],
];

describe("HTTP authentication", () => {
  it("lets a writer with a valid token start a workflow and read it back", async () => {
    const { workflowId } = await writerWorkflow(["r"]);
    const res = await post(WORKFLOWS, { id: workflowId }, bearer(await tokenFor({ sub: "r", roles: ["reader"] })));
    expect(res.status).toBe(200);
    expect(res.data!.workflows).toEqual([{ id: workflowId, name: "auth" }]);
  });

  it.each(BAD_CREDENTIALS)("refuses %s with HTTP 401 and UNAUTHENTICATED, running nothing", async (_, make, why) => {
    const name = `refused-${randomUUID()}`;
    const res = await post(START_WORKFLOW, { input: { name, systemPrompt: "x" } }, await make());
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(res.data ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions?.code).toBe("UNAUTHENTICATED");
    expect(res.errors![0].message).toMatch(why);
    const { records } = await driver.executeQuery("MATCH (w:Workflow {name: $name}) RETURN count(w) AS c", { name });
    expect(records[0]!.get("c")).toBe(0);
  });
});

describe("role gates over HTTP", () => {
  it("refuses a reader's mutations with 403 FORBIDDEN and writes nothing", async () => {
    const { workflowId, rootId } = await writerWorkflow();
    const before = await workflowState(driver, workflowId);
    const reader = bearer(await tokenFor({ sub: "reader-1", roles: ["reader"] }));
    const nodeId = randomUUID();
    const append = await post(
      APPEND_NODE,
      { input: { id: nodeId, workflowId, parentId: rootId, type: "MESSAGE", content: "not allowed" } },
      reader,
    );
    expect(append.status).toBe(403);
    expect(append.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    expect(append.errors![0].message).toMatch(/reader/);
    const startId = randomUUID();
    const start = await post(START_WORKFLOW, { input: { id: startId, name: "no", systemPrompt: "x" } }, reader);
    expect(start.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    expect(await workflowState(driver, workflowId)).toEqual(before);
    expect(await idExists(driver, nodeId)).toBe(false);
    expect(await idExists(driver, startId)).toBe(false);
  });

  it.each([
    ["no roles claim", {}],
    ["an empty roles claim", { roles: [] }],
    ["only roles this API does not know", { roles: ["superuser", "Admin"] }],
  ])("refuses every operation of a caller with %s, generated queries included", async (_, claims) => {
    const { workflowId } = await writerWorkflow();
    const caller = bearer(await rawToken({ roles: undefined, ...claims }));
    for (const query of [
      WORKFLOWS,
      `query ($id: ID!) { history(workflowId: $id) { edges { cursor } } }`,
      `query ($id: ID!) { decisionPoints(workflowId: $id) { decision { id } } }`,
      `{ __schema { queryType { name } } }`,
    ]) {
      const res = await post(query, query.includes("$id") ? { id: workflowId } : {}, caller);
      expect(res.status).toBe(403);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    }
  });

  it("lets an admin write and read", async () => {
    const admin = bearer(await tokenFor({ sub: "admin-1", roles: ["admin"] }));
    const res = await post(START_WORKFLOW, { input: { name: "by-admin", systemPrompt: "x" } }, admin);
    expect(res.errors).toBeUndefined();
    const read = await post(WORKFLOWS, { id: res.data!.startWorkflow.id }, admin);
    expect(read.data!.workflows).toHaveLength(1);
  });

  it("exposes only the custom mutations, none generated by @neo4j/graphql", async () => {
    const res = await post(
      `{ __type(name: "Mutation") { fields { name } } }`,
      {},
      bearer(await tokenFor({ sub: "r", roles: ["reader"] })),
    );
    const names = (res.data!.__type.fields as { name: string }[]).map((f) => f.name).sort();
    expect(names).toEqual(
      [
        "addDecision",
        "addMonitor",
        "appendNode",
        "appendNodes",
        "cancelWorkflow",
        "chooseOption",
        "completeWorkflow",
        "failWorkflow",
        "forkBranch",
        "grantWorkflowAccess",
        "resumeWorkflow",
        "revokeWorkflowAccess",
        "setBranchStatus",
        "setBranchVisibility",
        "startWorkflow",
        "deleteWorkflow",
        "restoreWorkflow",
        "setRetention",
        "pruneBranch",
        "pruneBranches",
      ].sort(),
    );
  });
});

describe("WebSocket authentication", () => {
  it("serves a subscription and a query to a connection with a valid token", async () => {
    const { workflowId, rootId } = await writerWorkflow(["watcher"]);
    const client = authedClient(bearer(await tokenFor({ sub: "watcher", roles: ["reader"] })));
    // afterSeq: 0, so that the node arrives whether it commits before or after the stream opens.
    const sub = subscribe(client, NODE_ADDED, { workflowId });
    await eventually(() => api.app.liveSubscribers(workflowId) > 0);
    const next = sub.next(); // not awaited on purpose: set up before the write
    const append = await post(
      APPEND_NODE,
      { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "seen" } },
      bearer(await tokenFor({ sub: "writer-1", roles: ["writer"] })),
    );
    expect(append.errors).toBeUndefined();
    expect((await next).nodeAdded.content).toBe("seen");
    const result = await client.iterate({ query: WORKFLOWS, variables: { id: workflowId } }).next();
    expect(result.value?.data?.workflows).toEqual([{ id: workflowId, name: "auth" }]);
  });

  it.each(BAD_CREDENTIALS)("closes a connection with %s with 4401 and the reason", async (_, make, why) => {
    const authorization = await make();
    const { acked, closed } = await connectRaw(authorization === undefined ? {} : { authorization });
    expect(acked).toBe(false);
    const { code, reason } = await closed;
    expect(code).toBe(4401);
    expect(reason).toMatch(why);
  });

  it("closes a connection with 4401 when its token expires, not before", async () => {
    const token = await tokenFor({ sub: "short", roles: ["reader"], ttlSeconds: 2 });
    const { exp } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number };
    const { acked, closed } = await connectRaw({ authorization: bearer(token) });
    expect(acked).toBe(true);
    const { code, reason, at } = await closed;
    expect(code).toBe(4401);
    expect(reason).toBe("Token expired");
    expect(at).toBeGreaterThanOrEqual(exp * 1000);
    expect(at).toBeLessThan(exp * 1000 + 2000);
  });

  it("answers a reader's mutation with FORBIDDEN over WebSocket and writes nothing", async () => {
    const { workflowId, rootId } = await writerWorkflow();
    const before = await workflowState(driver, workflowId);
    const client = authedClient(bearer(await tokenFor({ sub: "reader-ws", roles: ["reader"] })));
    const nodeId = randomUUID();
    const errors = await new Promise<unknown>((resolve, reject) =>
      client.subscribe(
        {
          query: APPEND_NODE,
          variables: { input: { id: nodeId, workflowId, parentId: rootId, type: "MESSAGE", content: "no" } },
        },
        {
          next: (value) => reject(new Error(`unexpected result ${JSON.stringify(value)}`)),
          error: resolve,
          complete() {},
        },
      ),
    );
    expect((errors as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    expect(await workflowState(driver, workflowId)).toEqual(before);
    expect(await idExists(driver, nodeId)).toBe(false);
  });

  it("answers a role-less caller's subscription with FORBIDDEN", async () => {
    const { workflowId } = await writerWorkflow();
    const client = authedClient(bearer(await tokenFor({ sub: "nobody", roles: [] })));
    const sub = subscribe(client, NODE_ADDED, { workflowId });
    await expect(sub.next()).rejects.toThrow(/FORBIDDEN/);
  });
});
