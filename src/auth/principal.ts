/** The roles a token may carry in its `roles` claim; any other value is ignored. */
export type Role = "admin" | "writer" | "reader";

export const ROLES: readonly Role[] = ["admin", "writer", "reader"];

/** Who is calling: built from a verified token, or the anonymous admin when authentication is off. */
export interface Principal {
  /** The token's `sub`: a user or agent id. */
  sub: string;
  /** The recognised roles of the `roles` claim. */
  roles: Role[];
  /** The `groups` claim (empty when absent). */
  groups: string[];
  /** True only when authentication is off. */
  anonymous: boolean;
  /** The token's `exp` in milliseconds since the epoch; null for the anonymous principal. */
  expiresAt: number | null;
  /**
   * The verified token payload. It becomes `context.jwt`, which @neo4j/graphql's `@authorization`
   * rules read; it never comes from client input unverified.
   */
  claims: Record<string, unknown>;
}

/** The `sub` of every caller when authentication is off. */
export const ANONYMOUS_SUB = "anonymous";

/** The principal of every caller when authentication is off: an admin, so that nothing is refused. */
export function anonymousPrincipal(): Principal {
  const roles: Role[] = ["admin"];
  return {
    sub: ANONYMOUS_SUB,
    roles,
    groups: [],
    anonymous: true,
    expiresAt: null,
    // What a token for the same caller would hold, so that `@authorization` rules see an admin.
    claims: { sub: ANONYMOUS_SUB, roles: [...roles], groups: [] },
  };
}

/** True for the role names this API knows. */
export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
