import { randomBytes } from "node:crypto";
import { errors, SignJWT } from "jose";
import { OperationTypeNode, type GraphQLError } from "graphql";
import {
  bearerToken,
  createAuthenticator,
  principalFromClaims,
  verificationFailure,
} from "../../src/auth/authenticator";
import { checkOperation, needsOperationType, operationTypeOf } from "../../src/auth/operation-gate";
import { anonymousPrincipal, type Principal, type Role } from "../../src/auth/principal";
import { parseTtl, signToken } from "../../src/auth/sign-token";
import { authorizationParam, createWebSocketAuth } from "../../src/auth/websocket-auth";
import type { AuthConfig } from "../../src/config";

/** The pure parts of authentication and the role gate: no services, no sockets. */

const SECRET = randomBytes(32).toString("hex");
const secretConfig = (overrides: Partial<Extract<AuthConfig, { mode: "secret" }>> = {}): AuthConfig => ({
  mode: "secret",
  secret: SECRET,
  issuer: undefined,
  audience: undefined,
  clockToleranceSeconds: 30,
  ...overrides,
});

/** The error code a promise rejects with. */
async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return (error as GraphQLError).extensions?.code;
  }
  throw new Error("expected a rejection");
}

const principal = (roles: Role[]): Principal => ({ ...principalFromClaims({ sub: "p", roles }) });

describe("bearerToken", () => {
  it("takes the token of a Bearer value, whatever the scheme's case and surrounding spaces", () => {
    expect(bearerToken("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(bearerToken("  bearer   abc  ")).toBe("abc");
  });

  it.each([undefined, "", "   ", "Basic abc", "Bearer", "Bearer a b", "abc"])("refuses %p as UNAUTHENTICATED", (v) => {
    expect(() => bearerToken(v)).toThrow(expect.objectContaining({ extensions: { code: "UNAUTHENTICATED" } }));
  });
});

describe("principalFromClaims", () => {
  it("keeps the known roles once each, the groups, the expiry in ms and every claim", () => {
    const p = principalFromClaims({
      sub: "ana",
      roles: ["reader", "owner", "reader", "writer"],
      groups: ["g"],
      exp: 10,
    });
    expect(p).toEqual({
      sub: "ana",
      roles: ["reader", "writer"],
      groups: ["g"],
      anonymous: false,
      expiresAt: 10000,
      claims: { sub: "ana", roles: ["reader", "owner", "reader", "writer"], groups: ["g"], exp: 10 },
    });
  });

  it("gives a token without roles or groups none of either", () => {
    expect(principalFromClaims({ sub: "ana" })).toMatchObject({ roles: [], groups: [] });
  });

  it.each([
    ["no sub", { roles: ["admin"] }],
    ["an empty sub", { sub: "" }],
    ["a numeric sub", { sub: 7 }],
    ["roles as a string", { sub: "a", roles: "admin" }],
    ["groups with a number", { sub: "a", groups: ["g", 1] }],
  ])("refuses a payload with %s", (_, payload) => {
    expect(() => principalFromClaims(payload as never)).toThrow(
      expect.objectContaining({ extensions: { code: "UNAUTHENTICATED" } }),
    );
  });
});

describe("checkOperation (the role gate)", () => {
  it.each<[Role[], string, string | undefined]>([
    [["admin"], "mutation", undefined],
    [["admin"], "query", undefined],
    [["writer"], "mutation", undefined],
    [["writer"], "subscription", undefined],
    [["reader"], "query", undefined],
    [["reader"], "subscription", undefined],
    [["reader"], "mutation", "FORBIDDEN"],
    [["reader", "writer"], "mutation", undefined],
    [[], "query", "FORBIDDEN"],
    [[], "subscription", "FORBIDDEN"],
    [[], "mutation", "FORBIDDEN"],
  ])("roles %j, %s → %s", (roles, operation, code) => {
    expect(checkOperation(principal(roles), operation as never)?.extensions.code).toBe(code);
  });

  it("lets the anonymous principal (authentication off) do everything", () => {
    expect(checkOperation(anonymousPrincipal(), OperationTypeNode.MUTATION)).toBeUndefined();
    expect(anonymousPrincipal().claims).toMatchObject({ sub: "anonymous", roles: ["admin"] });
  });

  it("needs the operation type only for a reader", () => {
    expect(needsOperationType(principal(["reader"]))).toBe(true);
    expect(needsOperationType(principal(["writer"]))).toBe(false);
    expect(needsOperationType(principal([]))).toBe(false);
  });

  it("reads the operation type of the named operation, or nothing when it cannot", () => {
    expect(operationTypeOf("mutation M { a } query Q { b }", "M")).toBe("mutation");
    expect(operationTypeOf("{ a }")).toBe("query");
    expect(operationTypeOf("subscription { a }", null)).toBe("subscription");
    expect(operationTypeOf("mutation M { a } query Q { b }")).toBeUndefined();
    expect(operationTypeOf("mutation {")).toBeUndefined();
  });
});

describe("createAuthenticator (HS256)", () => {
  it("returns the principal of a valid token", async () => {
    const auth = createAuthenticator(secretConfig());
    const token = await signToken(SECRET, { sub: "ana", roles: ["writer"], groups: ["team"], ttlSeconds: 60 });
    const p = await auth.authenticate(`Bearer ${token}`);
    expect(p).toMatchObject({ sub: "ana", roles: ["writer"], groups: ["team"], anonymous: false });
    expect(p.expiresAt! - Date.now()).toBeGreaterThan(50_000);
    expect(auth.sessionEnd(p)).toBe(p.expiresAt! + 30_000);
  });

  it("accepts a token expired by less than the clock tolerance, and not by more", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = (expiredFor: number) =>
      new SignJWT({ sub: "ana" })
        .setProtectedHeader({ alg: "HS256" })
        .setExpirationTime(now - expiredFor)
        .sign(new TextEncoder().encode(SECRET));
    const auth = createAuthenticator(secretConfig({ clockToleranceSeconds: 30 }));
    await expect(auth.authenticate(`Bearer ${await token(10)}`)).resolves.toMatchObject({ sub: "ana" });
    expect(await codeOf(auth.authenticate(`Bearer ${await token(60)}`))).toBe("UNAUTHENTICATED");
  });

  it("requires exp", async () => {
    const token = await new SignJWT({ sub: "ana", roles: ["admin"] })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));
    await expect(createAuthenticator(secretConfig()).authenticate(`Bearer ${token}`)).rejects.toThrow(/"exp"/);
  });

  it("checks the issuer and audience only when configured", async () => {
    const token = await signToken(SECRET, { sub: "ana", roles: [], issuer: "i", audience: "a" });
    await expect(createAuthenticator(secretConfig()).authenticate(`Bearer ${token}`)).resolves.toBeDefined();
    const strict = createAuthenticator(secretConfig({ issuer: "i", audience: "a" }));
    await expect(strict.authenticate(`Bearer ${token}`)).resolves.toBeDefined();
    const other = createAuthenticator(secretConfig({ issuer: "j" }));
    await expect(other.authenticate(`Bearer ${token}`)).rejects.toThrow(/issuer/);
  });

  it("is the anonymous admin for every caller when off, token or not", async () => {
    const auth = createAuthenticator({ mode: "off" });
    expect(auth.enabled).toBe(false);
    expect(await auth.authenticate(undefined)).toEqual(anonymousPrincipal());
    expect(await auth.authenticate("Bearer garbage")).toEqual(anonymousPrincipal());
    expect(auth.sessionEnd(anonymousPrincipal())).toBeNull();
  });
});

describe("verificationFailure", () => {
  it("blames the token for what is wrong with it", () => {
    expect(verificationFailure(new errors.JWSSignatureVerificationFailed(), true).extensions.code).toBe(
      "UNAUTHENTICATED",
    );
    expect(verificationFailure(new errors.JWKSNoMatchingKey(), true).message).toMatch(/unknown key/);
    expect(verificationFailure(new errors.JWSInvalid("bad"), false).message).toBe("Malformed token");
  });

  it("blames the server when the key set cannot be had", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    for (const error of [new errors.JWKSTimeout(), new errors.JWKSInvalid(), refused, new errors.JOSEError("500")]) {
      expect(verificationFailure(error, true).extensions.code).toBe("SERVICE_UNAVAILABLE");
    }
  });

  it("rethrows an unexpected error when there is no remote key set", () => {
    expect(() => verificationFailure(new TypeError("bug"), false)).toThrow(TypeError);
  });
});

describe("WebSocket auth hooks", () => {
  function fakeCtx(connectionParams?: Record<string, unknown>) {
    const closes: [number, string][] = [];
    const socket = {
      readyState: 1,
      OPEN: 1,
      close: (code: number, reason: string) => void closes.push([code, reason]),
    };
    return { ctx: { connectionParams, extra: { socket } } as never, closes };
  }

  it("reads connectionParams.authorization in any capitalisation", () => {
    expect(authorizationParam({ authorization: "Bearer a" })).toBe("Bearer a");
    expect(authorizationParam({ Authorization: "Bearer b" })).toBe("Bearer b");
    expect(authorizationParam({ authorization: 7 })).toBeUndefined();
    expect(authorizationParam(undefined)).toBeUndefined();
  });

  it("closes with 4401 and the reason instead of acknowledging a bad token", async () => {
    const hooks = createWebSocketAuth(createAuthenticator(secretConfig()));
    const { ctx, closes } = fakeCtx({ authorization: "Bearer nope" });
    expect(await hooks.onConnect(ctx)).toBe(false);
    expect(closes).toEqual([[4401, "Malformed token"]]);
  });

  it("gates a reader's operations by type and keeps the principal for the context", async () => {
    const hooks = createWebSocketAuth(createAuthenticator(secretConfig()));
    const token = await signToken(SECRET, { sub: "r", roles: ["reader"] });
    const { ctx, closes } = fakeCtx({ authorization: `Bearer ${token}` });
    expect(await hooks.onConnect(ctx)).toBe(true);
    expect(hooks.principal(ctx).sub).toBe("r");
    expect(hooks.onSubscribe(ctx, { query: "{ a }" })).toBeUndefined();
    expect(hooks.onSubscribe(ctx, { query: "mutation { a }" })?.[0]?.extensions.code).toBe("FORBIDDEN");
    hooks.onClose(ctx);
    expect(closes).toEqual([]);
  });

  it("closes with 4401 when the token expires", async () => {
    jest.useFakeTimers({ now: Date.now() });
    try {
      const hooks = createWebSocketAuth(createAuthenticator(secretConfig({ clockToleranceSeconds: 0 })));
      const token = await signToken(SECRET, { sub: "r", roles: ["reader"], ttlSeconds: 60 });
      const { ctx, closes } = fakeCtx({ authorization: `Bearer ${token}` });
      expect(await hooks.onConnect(ctx)).toBe(true);
      jest.advanceTimersByTime(30_000);
      expect(closes).toEqual([]);
      jest.advanceTimersByTime(31_000);
      expect(closes).toEqual([[4401, "Token expired"]]);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe("parseTtl", () => {
  it.each([
    ["90", 90],
    ["45s", 45],
    ["30m", 1800],
    ["1h", 3600],
    ["7d", 604800],
  ])("%s → %i s", (text, seconds) => expect(parseTtl(text)).toBe(seconds));

  it.each(["", "0", "1w", "-1h", "1.5h", "h"])("rejects %p", (text) => expect(parseTtl(text)).toBeUndefined());
});
