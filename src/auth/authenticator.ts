import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from "jose";
import type { GraphQLError } from "graphql";
import type { AuthConfig } from "../config";
import { serviceUnavailable, unauthenticated } from "../errors";
import type { Logger } from "../logger";
import { anonymousPrincipal, isRole, type Principal } from "./principal";

/** Identifies callers from their `Authorization` value. */
export interface Authenticator {
  /** False when authentication is off: every caller is the anonymous admin. */
  readonly enabled: boolean;
  /**
   * Verifies `Bearer <jwt>` and returns who it names.
   * @throws GraphQLError UNAUTHENTICATED when the value is missing, malformed or does not verify;
   * SERVICE_UNAVAILABLE when the key set (JWKS) cannot be fetched.
   */
  authenticate(authorization?: string): Promise<Principal>;
  /**
   * When a connection opened by `principal` must end (ms since the epoch): the moment its token
   * stops verifying (`exp` plus the clock tolerance). Null: never.
   */
  sessionEnd(principal: Principal): number | null;
}

/** Algorithms accepted per mode: pinned, so that a token cannot choose how it is checked. */
const SECRET_ALGORITHMS = ["HS256"];
const JWKS_ALGORITHMS = ["RS256", "ES256"];
/** How long one JWKS fetch may take. */
const JWKS_TIMEOUT_MS = 5000;

/** Creates the authenticator for `config` (JWKS keys are fetched on first use, then cached). */
export function createAuthenticator(config: AuthConfig, options: { logger?: Logger } = {}): Authenticator {
  if (config.mode === "off") {
    return { enabled: false, authenticate: async () => anonymousPrincipal(), sessionEnd: () => null };
  }
  const verifyOptions: JWTVerifyOptions = {
    algorithms: config.mode === "secret" ? SECRET_ALGORITHMS : JWKS_ALGORITHMS,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ["exp", "sub"],
  };
  // Remote keys are cached; a token naming an unknown `kid` refetches the set (at most once per
  // cooldown), which is how a rotated key is picked up.
  const key =
    config.mode === "secret"
      ? new TextEncoder().encode(config.secret)
      : createRemoteJWKSet(new URL(config.jwksUrl), {
          cooldownDuration: config.jwksCooldownSeconds * 1000,
          timeoutDuration: JWKS_TIMEOUT_MS,
        });
  return {
    enabled: true,
    async authenticate(authorization) {
      const token = bearerToken(authorization);
      let payload: JWTPayload;
      try {
        // Two call shapes (a key or a key-set function): jose overloads them separately.
        payload =
          key instanceof Uint8Array
            ? (await jwtVerify(token, key, verifyOptions)).payload
            : (await jwtVerify(token, key, verifyOptions)).payload;
      } catch (error) {
        const failure = verificationFailure(error, config.mode === "jwks");
        if (failure.extensions.code === "SERVICE_UNAVAILABLE") {
          options.logger?.warn("cannot fetch the JWKS to verify a token", { error: error as Error });
        }
        throw failure;
      }
      return principalFromClaims(payload);
    },
    sessionEnd(principal) {
      return principal.expiresAt === null ? null : principal.expiresAt + config.clockToleranceSeconds * 1000;
    },
  };
}

/**
 * The token of an `Authorization: Bearer <token>` value.
 * @throws GraphQLError UNAUTHENTICATED when missing or not a bearer token.
 */
export function bearerToken(authorization: string | undefined): string {
  if (!authorization?.trim()) throw unauthenticated("Authentication required: send Authorization: Bearer <token>");
  const match = /^Bearer +([^\s]+)\s*$/i.exec(authorization.trim());
  if (!match) throw unauthenticated("Authorization must be 'Bearer <token>'");
  return match[1]!;
}

/**
 * Builds the principal of a verified payload: `sub` must be a non-empty string, `roles` and
 * `groups` arrays of strings when present. Roles this API does not know are ignored.
 * @throws GraphQLError UNAUTHENTICATED when a claim has the wrong shape.
 */
export function principalFromClaims(payload: JWTPayload): Principal {
  if (typeof payload.sub !== "string" || payload.sub === "") throw unauthenticated('Token has no "sub" claim');
  const roles = stringArrayClaim(payload, "roles");
  return {
    sub: payload.sub,
    roles: [...new Set(roles.filter(isRole))],
    groups: stringArrayClaim(payload, "groups"),
    anonymous: false,
    expiresAt: typeof payload.exp === "number" ? payload.exp * 1000 : null,
    claims: { ...payload },
  };
}

function stringArrayClaim(payload: JWTPayload, name: string): string[] {
  const value = payload[name];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw unauthenticated(`Token claim "${name}" must be an array of strings`);
  }
  return value;
}

/**
 * Maps a jose failure to what the caller sees: the token's fault is UNAUTHENTICATED with the
 * reason; a key set that cannot be fetched (timeout, unreachable, bad response) is the server's
 * fault, SERVICE_UNAVAILABLE, so that a client does not throw away a good token.
 */
export function verificationFailure(error: unknown, remoteKeys: boolean): GraphQLError {
  if (error instanceof errors.JWTExpired) return unauthenticated("Token expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return unauthenticated(`Token has no "${error.claim}" claim`);
    if (error.claim === "iss") return unauthenticated("Token issuer not accepted");
    if (error.claim === "aud") return unauthenticated("Token audience not accepted");
    if (error.claim === "nbf") return unauthenticated("Token not valid yet");
    return unauthenticated(`Token claim "${error.claim}" is invalid`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthenticated("Token signature is invalid");
  if (error instanceof errors.JWKSNoMatchingKey) return unauthenticated("Token signed with an unknown key");
  if (error instanceof errors.JOSEAlgNotAllowed) return unauthenticated("Token algorithm not accepted");
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return serviceUnavailable("Cannot fetch the keys to verify tokens; try again shortly");
  }
  if (remoteKeys && (!(error instanceof errors.JOSEError) || error.code === "ERR_JOSE_GENERIC")) {
    return serviceUnavailable("Cannot fetch the keys to verify tokens; try again shortly");
  }
  if (error instanceof errors.JOSEError) return unauthenticated("Malformed token");
  throw error;
}
