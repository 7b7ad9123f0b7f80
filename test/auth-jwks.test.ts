import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from "jose";
import WebSocket from "ws";
import { createAuthenticator } from "../src/auth/authenticator";
import { disposeAll, onDispose, startApp, type RunningApp } from "./support/harness";

/**
 * JWKS mode: tokens signed with RS256 or ES256 keys that a (local, loopback) key server publishes,
 * including a key rotation the API picks up without restarting, and a key server that is down.
 */

interface KeyPair {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: KeyLike;
  jwk: JWK;
}

async function newKey(kid: string, alg: "RS256" | "ES256"): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

/** A loopback HTTP server publishing `keys` as a JWKS; `fetches` counts the requests. */
async function startKeyServer() {
  const state = { keys: [] as JWK[], fetches: 0, status: 200 };
  const server: Server = createServer((_req, res) => {
    state.fetches += 1;
    res.writeHead(state.status, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  onDispose(close);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, state, close };
}

async function sign(key: KeyPair, payload: Record<string, unknown> = {}, kid = key.kid): Promise<string> {
  return new SignJWT({ sub: "agent-7", roles: ["writer"], ...payload })
    .setProtectedHeader({ alg: key.alg, kid })
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key.privateKey);
}

async function post(url: string, token: string, query = "{ workflows(limit: 1) { id } }") {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: any[] }) };
}

/** Opens a graphql-transport-ws connection; resolves with "ack" or the close code. */
function wsOutcome(wsUrl: string, token: string): Promise<"ack" | number> {
  const socket = new WebSocket(wsUrl, "graphql-transport-ws");
  onDispose(() => socket.terminate());
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () =>
      socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on("message", (data) => JSON.parse(data.toString()).type === "connection_ack" && resolve("ack"));
    socket.once("close", (code) => resolve(code));
  });
}

const codeOf = (res: { errors?: any[] }) => res.errors?.map((e) => e.extensions?.code);

let keys: Awaited<ReturnType<typeof startKeyServer>>;
let api: RunningApp;
let first: KeyPair;
beforeAll(async () => {
  keys = await startKeyServer();
  first = await newKey("key-1", "RS256");
  keys.state.keys = [first.jwk];
  api = await startApp({
    auth: {
      mode: "jwks",
      jwksUrl: keys.url,
      // No cooldown: a token naming an unknown kid refetches at once (the default waits 30 s).
      jwksCooldownSeconds: 0,
      issuer: undefined,
      audience: undefined,
      clockToleranceSeconds: 30,
    },
  });
});
afterAll(disposeAll);

describe("JWKS (RS256/ES256) authentication", () => {
  it("accepts an RS256 token signed with a published key over HTTP and WebSocket", async () => {
    const token = await sign(first);
    const res = await post(api.url, token);
    expect(res.errors).toBeUndefined();
    expect(res.status).toBe(200);
    expect(await wsOutcome(api.wsUrl, token)).toBe("ack");
  });

  it("refuses a token signed with an unpublished key that claims a published kid", async () => {
    const impostor = await newKey("key-1", "RS256");
    const token = await sign(impostor);
    const res = await post(api.url, token);
    expect(res.status).toBe(401);
    expect(codeOf(res)).toEqual(["UNAUTHENTICATED"]);
    expect(res.errors![0].message).toMatch(/signature/);
    expect(await wsOutcome(api.wsUrl, token)).toBe(4401);
  });

  it("refuses an HS256 token (a shared secret is not accepted in JWKS mode)", async () => {
    const token = await new SignJWT({ sub: "x", roles: ["admin"] })
      .setProtectedHeader({ alg: "HS256", kid: "key-1" })
      .setExpirationTime("10m")
      .sign(randomBytes(32));
    const res = await post(api.url, token);
    expect(codeOf(res)).toEqual(["UNAUTHENTICATED"]);
    expect(res.errors![0].message).toMatch(/algorithm/);
  });

  it("picks up a rotated-in key (a new kid) without a restart", async () => {
    const second = await newKey("key-2", "ES256");
    const token = await sign(second);
    // Not published yet: refused as signed with an unknown key.
    const early = await post(api.url, token);
    expect(codeOf(early)).toEqual(["UNAUTHENTICATED"]);
    expect(early.errors![0].message).toMatch(/unknown key/);
    const fetchesBefore = keys.state.fetches;
    keys.state.keys = [first.jwk, second.jwk];
    const res = await post(api.url, token);
    expect(res.errors).toBeUndefined();
    expect(keys.state.fetches).toBe(fetchesBefore + 1);
    expect(await wsOutcome(api.wsUrl, token)).toBe("ack");
    // Keys are cached: a known kid does not refetch.
    await post(api.url, await sign(first));
    expect(keys.state.fetches).toBe(fetchesBefore + 1);
  });
});

describe("a key server that cannot be reached", () => {
  it("answers SERVICE_UNAVAILABLE (HTTP 503), not UNAUTHENTICATED, and closes WebSockets with 1013", async () => {
    const down = await startKeyServer();
    down.state.status = 500;
    const app = await startApp({
      auth: {
        mode: "jwks",
        jwksUrl: down.url,
        jwksCooldownSeconds: 0,
        issuer: undefined,
        audience: undefined,
        clockToleranceSeconds: 30,
      },
    });
    const token = await sign(first);
    const res = await post(app.url, token);
    expect(res.status).toBe(503);
    expect(codeOf(res)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(await wsOutcome(app.wsUrl, token)).toBe(1013);
  });

  it("treats a refused connection to the key server as unavailable", async () => {
    const gone = await startKeyServer();
    const url = gone.url;
    await gone.close();
    await expect(fetch(url)).rejects.toThrow();
    const authenticator = createAuthenticator({
      mode: "jwks",
      jwksUrl: url,
      jwksCooldownSeconds: 0,
      issuer: undefined,
      audience: undefined,
      clockToleranceSeconds: 0,
    });
    await expect(authenticator.authenticate(`Bearer ${await sign(first)}`)).rejects.toMatchObject({
      extensions: { code: "SERVICE_UNAVAILABLE" },
    });
  });
});
