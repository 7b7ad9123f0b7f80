import { SignJWT } from "jose";
import type { Role } from "./principal";

export interface TokenClaims {
  /** The caller's user or agent id. */
  sub: string;
  roles: Role[];
  /** @default [] */
  groups?: string[];
  /** Lifetime in seconds. @default 3600 */
  ttlSeconds?: number;
  /** `iss`, when the API checks one (AUTH_ISSUER). */
  issuer?: string;
  /** `aud`, when the API checks one (AUTH_AUDIENCE). */
  audience?: string;
}

/** Signs an HS256 token the API accepts when AUTH_JWT_SECRET is `secret` (for `npm run token` and tests). */
export async function signToken(secret: string, claims: TokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ roles: claims.roles, groups: claims.groups ?? [] })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.ttlSeconds ?? 3600));
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** Parses a lifetime such as "90", "45s", "30m", "1h" or "7d" into seconds; undefined when malformed. */
export function parseTtl(text: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "" | "s" | "m" | "h" | "d"];
  return seconds > 0 ? seconds : undefined;
}
