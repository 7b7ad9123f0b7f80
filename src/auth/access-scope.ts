import { createHash } from "node:crypto";
import type { Principal } from "./principal";

/**
 * What a caller may see of the workflows: everything (admins), or the workflows granted to one of
 * its principals. Built from the verified token only, never from client input.
 */
export interface AccessScope {
  /** The caller's `sub`: recorded as `writtenBy` on what it writes. */
  sub: string;
  /** The token's roles, as the audit trail records them. */
  roles?: readonly string[];
  /** Set on the scope a mutation runs with: what its audit entry records. */
  audit?: AuditTrail;
  /** Admins see and do everything. */
  admin: boolean;
  /** The caller's `sub` and `group:<name>` for each of its groups, sorted and without repeats. */
  principals: readonly string[];
  /**
   * Names the scope: equal keys see exactly the same workflows (see withVisibleWorkflows). Caches of results (the selection
   * loader's, shared subscriptions') include it, so that no result computed for one caller
   * reaches a caller who may see less.
   */
  key: string;
}

/**
 * The scope with the workflows it may read (null: all, for admins) folded into its key: callers
 * with the same principals share caches only while they see the same workflows (a workflow
 * started or granted since changes the key).
 */
export function withVisibleWorkflows(
  scope: AccessScope,
  workflowIds: readonly string[] | null,
  hiddenKey = "",
): AccessScope {
  if (workflowIds === null) return scope;
  const base = scope.key.split("#")[0];
  const digest = createHash("sha256")
    .update([...workflowIds].sort().join("\n"))
    .digest("base64url")
    .slice(0, 22);
  return { ...scope, key: hiddenKey ? `${base}#${digest}#${hiddenKey}` : `${base}#${digest}` };
}

/** What the audit entry of one mutation records besides the caller (see src/domain/audit.ts). */
export interface AuditTrail {
  /** The mutation's field name (`appendNode`, `grantWorkflowAccess`, …). */
  operation: string;
  /** The request's id (`X-Request-Id` when the client sent one, else generated). */
  requestId: string;
  /** The client's address (after trusted proxies); null when unknown. */
  clientAddress: string | null;
  /** SHA-256 of the mutation's input, as canonical JSON. */
  inputDigest: string;
}

/** The prefix of a group principal: `group:ops` is everyone whose `groups` claim holds `ops`. */
export const GROUP_PREFIX = "group:";

/**
 * The caller's scope. A `sub` that starts with `group:` is not taken as a principal of its own,
 * so that no token can pass for a group by its subject.
 */
export function accessScopeOf(principal: Principal): AccessScope {
  const admin = principal.roles.includes("admin");
  const principals = [
    ...(principal.sub.startsWith(GROUP_PREFIX) ? [] : [principal.sub]),
    ...principal.groups.map((group) => GROUP_PREFIX + group),
  ];
  const sorted = [...new Set(principals)].sort();
  return {
    sub: principal.sub,
    roles: [...principal.roles],
    admin,
    principals: sorted,
    key: admin ? "admin" : JSON.stringify(sorted),
  };
}

/**
 * The JWT handed to @neo4j/graphql (`context.jwt`): the verified claims plus `admin`,
 * `principals`, `workflowIds` (the workflows the caller may read; empty for admins, who see
 * all), `ownedWorkflowIds`, `hiddenBranchIds` (branches restricted from the caller, with the
 * branches forked from them) and `hiddenWorkflowIds` (workflows being imported or purged), which the visibility rules of schema.graphql read as `$jwt.…`.
 * These are set here and override any claim of the same name in the token.
 */
export function visibilityClaims(
  principal: Principal,
  scope: AccessScope,
  workflowIds: readonly string[] | null,
  inside: { ownedWorkflowIds: readonly string[]; hiddenBranchIds: readonly string[] } = {
    ownedWorkflowIds: [],
    hiddenBranchIds: [],
  },
  hiddenWorkflowIds: readonly string[] = [],
): Record<string, unknown> {
  return {
    ...principal.claims,
    admin: scope.admin,
    principals: [...scope.principals],
    workflowIds: [...(workflowIds ?? [])],
    ownedWorkflowIds: [...inside.ownedWorkflowIds],
    hiddenBranchIds: [...inside.hiddenBranchIds],
    // Shared, read-only (see readAccessView): not copied per operation.
    hiddenWorkflowIds,
  };
}

/** The scope of an admin (and of every caller when authentication is off): every workflow. */
export const ADMIN_SCOPE: AccessScope = Object.freeze({
  sub: "system",
  admin: true,
  principals: Object.freeze([]),
  key: "admin",
});
