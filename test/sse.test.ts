import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { createClient } from "graphql-sse";
import { signToken } from "../src/auth/sign-token";
import { APPEND_NODE, APPEND_NODES } from "./support/documents";
import { disposeAll, eventually, gqlOk, newWorkflow, onDispose, startApp, type RunningApp } from "./support/harness";
import { openEventStream } from "./support/sse-stream";

/** GraphQL over Server-Sent Events on /graphql/stream (graphql-sse, distinct connections). */
let api: RunningApp;
let streamUrl: string;

beforeAll(async () => {
  api = await startApp();
  streamUrl = `${api.origin}/graphql/stream`;
});
afterAll(disposeAll);

const EVENTS = `subscription ($w: ID!, $after: Int) { workflowEvents(workflowId: $w, afterSeq: $after) { seq kind node { content } } }`;

const append = (workflowId: string, parentId: string, content: string) =>
  gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } });

const openStream = (url: string, init: RequestInit = {}) => openEventStream(url, init, onDispose);

const streamQuery = (query: string, variables: Record<string, unknown>) =>
  `${streamUrl}?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables))}`;

describe("GraphQL over SSE", () => {
  it("streams a workflow's events to a plain EventSource-style GET, live, and resumes after afterSeq", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "sse-get");
    const stream = await openStream(streamQuery(EVENTS, { w: workflowId, after: -1 }));
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    await stream.until(1);
    await append(workflowId, rootId, "one");
    await append(workflowId, rootId, "two");
    await stream.until(3);
    expect(stream.events.map((e) => [e.event, e.data.data.workflowEvents.seq])).toEqual([
      ["next", 0],
      ["next", 1],
      ["next", 2],
    ]);
    expect(stream.events[2].data.data.workflowEvents.node).toEqual({ content: "two" });
    stream.close();
    // A reconnecting client resumes after the last seq it saw.
    const resumed = await openStream(streamQuery(EVENTS, { w: workflowId, after: 1 }));
    await resumed.until(1);
    expect(resumed.events[0].data.data.workflowEvents.seq).toBe(2);
  });

  it("delivers events to the stock graphql-sse client", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "sse-client");
    const client = createClient({ url: streamUrl, retryAttempts: 0 });
    onDispose(() => client.dispose());
    const seqs: number[] = [];
    const errors: unknown[] = [];
    const unsubscribe = client.subscribe<{ workflowEvents: { seq: number } }>(
      { query: EVENTS, variables: { w: workflowId } },
      { next: (r) => seqs.push(r.data!.workflowEvents.seq), error: (e) => errors.push(e), complete: () => undefined },
    );
    onDispose(unsubscribe);
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    await append(workflowId, rootId, "one");
    await append(workflowId, rootId, "two");
    await eventually(() => seqs.length === 2);
    expect(seqs).toEqual([1, 2]);
    expect(errors).toEqual([]);
    unsubscribe();
    await eventually(() => api.app.liveSubscribers(workflowId) === 0);
  });

  it("answers a query with one next event and completes; a mutation over GET is refused", async () => {
    const { workflowId } = await newWorkflow(api.url, "sse-query");
    const stream = await openStream(
      streamQuery(`query ($id: ID!) { workflows(where: { id: { eq: $id } }) { name } }`, { id: workflowId }),
    );
    await stream.until(2);
    expect(stream.events).toEqual([
      { event: "next", data: { data: { workflows: [{ name: "sse-query" }] } } },
      { event: "complete", data: null },
    ]);
    const mutation = await openStream(
      streamQuery(`mutation { startWorkflow(input: { name: "x", systemPrompt: "p" }) { id } }`, {}),
    );
    expect(mutation.status).toBe(405);
  });

  it("formats errors as graphql-ws does: validation, variable coercion, unknown workflow", async () => {
    const invalid = await openStream(streamQuery(`subscription { workflowEvents(workflowId: "x") { nope } }`, {}));
    await invalid.until(1);
    expect(invalid.events[0].data.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const coercion = await openStream(streamQuery(EVENTS, { w: "x", after: "not a number" }));
    await coercion.until(1);
    expect(coercion.events[0].data.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    const unknown = await openStream(streamQuery(EVENTS, { w: "00000000-0000-4000-8000-000000000000" }));
    await unknown.until(1);
    expect(unknown.events[0].data.errors[0].extensions.code).toBe("NOT_FOUND");
  });

  it("serves a subscription POSTed to /graphql with Accept: text/event-stream, and refuses it as plain JSON with a code", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "sse-post");
    const body = JSON.stringify({ query: EVENTS, variables: { w: workflowId, after: 0 } });
    const plain = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(plain.status).toBe(400);
    const refused = (await plain.json()) as any;
    expect(refused.errors[0].extensions.code).toBe("BAD_REQUEST");
    expect(refused.errors[0].message).toMatch(/graphql-ws.*\/graphql\/stream/);
    const stream = await openStream(api.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(stream.status).toBe(200);
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    await append(workflowId, rootId, "posted");
    await stream.until(1);
    expect(stream.events[0].data.data.workflowEvents).toMatchObject({ seq: 1, node: { content: "posted" } });
  });

  it("asks for Accept: text/event-stream on /graphql/stream", async () => {
    const res = await fetch(streamQuery(EVENTS, { w: "x" }), { headers: { accept: "application/json" } });
    expect(res.status).toBe(406);
  });
});

describe("a slow SSE reader", () => {
  it("is cut off once its subscription's bounded buffer overflows, instead of being buffered without end", async () => {
    const slow = await startApp({ subscriberBuffer: { maxEvents: 20, maxBytes: 64 * 1024 * 1024 } });
    const { workflowId, rootId } = await newWorkflow(slow.url, "sse-slow");
    const query = `subscription ($w: ID!) { workflowEvents(workflowId: $w, afterSeq: 0) { seq node { content } } }`;
    const url = `${slow.origin}/graphql/stream?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify({ w: workflowId }))}`;
    // A reader that opens the stream, then stops reading it.
    const req = request(url, { headers: { accept: "text/event-stream" } }, (res) => res.pause());
    onDispose(() => void req.destroy());
    req.end();
    await eventually(() => slow.app.liveSubscribers(workflowId) === 1);
    // 64 KiB events until the stalled stream is released (at most 40 MB): once the socket buffers
    // are full, the response stops taking events and the subscription holds 20 more, then lets go.
    const content = "x".repeat(64 * 1024);
    let written = 0;
    while (slow.app.liveSubscribers(workflowId) > 0 && written < 600) {
      const input = Array.from({ length: 10 }, () => ({ workflowId, parentId: rootId, type: "MESSAGE", content }));
      await gqlOk(slow.url, APPEND_NODES, { input });
      written += 10;
    }
    expect(slow.app.liveSubscribers(workflowId)).toBe(0);
    expect(written).toBeLessThan(600);
  }, 60000);
});

describe("GraphQL over SSE with authentication on", () => {
  const secret = randomBytes(32).toString("hex");
  let secured: RunningApp;
  beforeAll(async () => {
    secured = await startApp({
      auth: { mode: "secret", secret, issuer: undefined, audience: undefined, clockToleranceSeconds: 0 },
    });
  });

  it("takes the token from Authorization or, for EventSource, from access_token on GET; refuses a stream without one (401)", async () => {
    const writer = await signToken(secret, { sub: "sse-writer", roles: ["writer"] });
    const url = `${secured.origin}/graphql/stream?query=${encodeURIComponent("{ __typename }")}`;
    const anonymous = await openStream(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const byHeader = await openStream(url, { headers: { authorization: `Bearer ${writer}` } });
    await byHeader.until(1);
    expect(byHeader.events[0].data).toEqual({ data: { __typename: "Query" } });
    const byParam = await openStream(`${url}&access_token=${writer}`);
    await byParam.until(1);
    expect(byParam.events[0].data).toEqual({ data: { __typename: "Query" } });
  });

  it("applies the role gate: a reader's mutation over POST is FORBIDDEN", async () => {
    const reader = await signToken(secret, { sub: "sse-reader", roles: ["reader"] });
    const stream = await openStream(`${secured.origin}/graphql/stream`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${reader}` },
      body: JSON.stringify({ query: `mutation { startWorkflow(input: { name: "no", systemPrompt: "p" }) { id } }` }),
    });
    await stream.until(1);
    expect(stream.events[0].data.errors[0].extensions.code).toBe("FORBIDDEN");
  });
});
