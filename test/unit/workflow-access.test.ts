import { buildSchema, graphql, parse, type ExecutionResult, type GraphQLResolveInfo } from "graphql";
import { accessScopeOf, visibilityClaims, withVisibleWorkflows } from "../../src/auth/access-scope";
import { anonymousPrincipal, type Principal } from "../../src/auth/principal";
import { withAccess } from "../../src/domain/grants";
import { accessOf, checkAccess } from "../../src/domain/workflow-access";
import { createSelectionLoader } from "../../src/graphql/selection-loader";
import { createSharedSubscribe } from "../../src/server/shared-subscribe";
import { thrown } from "../support/thrown";

/**
 * Workflow grants without services: whose principals a token yields, the access a set of grants
 * gives, how a grant or revocation changes the stored lists, and that the caches shared between
 * callers (the selection loader's and the shared subscription results) never hand one caller's
 * result to a caller with another visibility scope.
 */

const principal = (sub: string, roles: Principal["roles"], groups: string[] = []): Principal => ({
  sub,
  roles,
  groups,
  anonymous: false,
  expiresAt: null,
  claims: { sub, roles, groups, admin: true, principals: ["forged"] },
});

describe("accessScopeOf and visibilityClaims", () => {
  it("yields the sub and group:<name> per group, sorted, and the scope key names them", () => {
    const scope = accessScopeOf(principal("carol", ["writer"], ["ops", "dev", "ops"]));
    expect(scope).toEqual({
      sub: "carol",
      roles: ["writer"],
      admin: false,
      principals: ["carol", "group:dev", "group:ops"],
      key: expect.any(String),
    });
    expect(scope.key).toBe(accessScopeOf(principal("carol", ["reader"], ["dev", "ops"])).key);
    expect(scope.key).not.toBe(accessScopeOf(principal("carol", ["reader"], ["dev"])).key);
  });

  it("folds the readable workflows into the key: same principals share it only while they see the same", () => {
    const scope = accessScopeOf(principal("ben", ["reader"]));
    const a = withVisibleWorkflows(scope, ["w2", "w1"]);
    expect(withVisibleWorkflows(scope, ["w1", "w2"]).key).toBe(a.key);
    expect(withVisibleWorkflows(a, ["w1", "w2", "w3"]).key).not.toBe(a.key);
    expect(withVisibleWorkflows(withVisibleWorkflows(a, ["w3"]), ["w1", "w2"]).key).toBe(a.key);
    expect(withVisibleWorkflows(accessScopeOf(principal("root", ["admin"])), null).key).toBe("admin");
  });

  it("never takes a sub that looks like a group for the group", () => {
    expect(accessScopeOf(principal("group:ops", ["writer"])).principals).toEqual([]);
  });

  it("gives admins (and the anonymous caller) the one admin scope", () => {
    expect(accessScopeOf(principal("root", ["admin"])).key).toBe("admin");
    expect(accessScopeOf(anonymousPrincipal()).admin).toBe(true);
  });

  it("overrides admin and principals claims that a token carries", () => {
    const user = principal("ben", ["reader"]);
    const claims = visibilityClaims(
      { ...user, claims: { ...user.claims, workflowIds: ["forged"] } },
      accessScopeOf(user),
      ["w1"],
    );
    expect(claims.admin).toBe(false);
    expect(claims.principals).toEqual(["ben"]);
    expect(claims.workflowIds).toEqual(["w1"]);
  });
});

describe("accessOf, checkAccess and withAccess", () => {
  const grants = withAccess(withAccess([], "group:ops", "WRITE"), "ana", "OWNER");
  const scope = (sub: string, groups: string[] = []) => accessScopeOf(principal(sub, ["writer"], groups));

  it("replaces a principal's grant, or removes it, keeping the list sorted by principal", () => {
    expect(grants).toEqual([
      { principal: "ana", access: "OWNER" },
      { principal: "group:ops", access: "WRITE" },
    ]);
    expect(withAccess(grants, "group:ops", "READ")).toEqual([
      { principal: "ana", access: "OWNER" },
      { principal: "group:ops", access: "READ" },
    ]);
    expect(withAccess(grants, "group:ops", null)).toEqual([{ principal: "ana", access: "OWNER" }]);
  });

  it("gives the highest access of the caller's principals; admins OWNER; nothing without a grant", () => {
    expect(accessOf(scope("ana"), grants)).toBe("OWNER");
    expect(accessOf(scope("carol", ["ops"]), grants)).toBe("WRITE");
    expect(accessOf(scope("dave", ["sales"]), grants)).toBeNull();
    expect(accessOf(accessScopeOf(principal("root", ["admin"])), [])).toBe("OWNER");
    expect(accessOf(scope("ana"), [])).toBeNull();
  });

  it("answers NOT_FOUND to a caller who cannot read, FORBIDDEN to one who can but needs more", () => {
    const reader = withAccess(grants, "ben", "READ");
    expect(thrown(() => checkAccess(scope("dave"), "w", reader, "READ")).extensions.code).toBe("NOT_FOUND");
    expect(thrown(() => checkAccess(scope("dave"), "w", null, "READ")).extensions.code).toBe("NOT_FOUND");
    expect(thrown(() => checkAccess(scope("ben"), "w", reader, "WRITE")).extensions.code).toBe("FORBIDDEN");
    expect(() => checkAccess(scope("ben"), "w", reader, "READ")).not.toThrow();
  });
});

describe("caches shared between callers are keyed by visibility scope", () => {
  const admin = { access: { key: "admin" } };
  const ben = { access: { key: '["ben"]' } };

  it("the selection loader runs one read per scope and returns each caller its own", async () => {
    const schema = buildSchema(/* GraphQL */ `
      input IdIn {
        in: [ID!]
      }
      input Where {
        id: IdIn
      }
      type WorkflowNode {
        id: ID!
        seenBy: String!
      }
      type Query {
        workflowNodes(where: Where): [WorkflowNode!]!
        node: WorkflowNode
      }
    `);
    // The loader's read answers with the scope it ran under, as a filtered read would differ.
    schema.getQueryType()!.getFields().workflowNodes!.resolve = (_root, args, context: typeof admin) =>
      (args as { where: { id: { in: string[] } } }).where.id.in.map((id) => ({ id, seenBy: context.access.key }));
    let info: GraphQLResolveInfo | undefined;
    await graphql({
      schema,
      source: "{ node { seenBy } }",
      rootValue: { node: (_args: unknown, _context: unknown, resolved: GraphQLResolveInfo) => void (info = resolved) },
    });
    const loader = createSelectionLoader(() => schema);
    const [forAdmin, forBen] = await Promise.all([
      loader.nodesById(info!, admin, ["n1"], { shared: "w:1" }),
      loader.nodesById(info!, ben, ["n1"], { shared: "w:1" }),
    ]);
    expect(forAdmin).toEqual([{ seenBy: "admin", __loadedId: "n1" }]);
    expect(forBen).toEqual([{ seenBy: '["ben"]', __loadedId: "n1" }]);
    expect(loader.stats.queries).toBe(2);
  });

  it("shared subscribe computes an event's result once per scope, not once for everyone", async () => {
    const schema = buildSchema(/* GraphQL */ `
      type Query {
        ok: Boolean
      }
      type Subscription {
        seenBy: String!
      }
    `);
    const field = schema.getSubscriptionType()!.getFields().seenBy!;
    field.subscribe = async function* () {
      yield { id: "event-1" };
    };
    field.resolve = (_event, _args, context: typeof admin) => context.access.key;
    const subscribe = createSharedSubscribe((event) => (event as { id: string }).id);
    const document = parse("subscription { seenBy }");
    const first = async (contextValue: object) => {
      const stream = (await subscribe({ schema, document, contextValue })) as AsyncIterableIterator<ExecutionResult>;
      return (await stream.next()).value as ExecutionResult;
    };
    expect((await first(admin)).data).toEqual({ seenBy: "admin" });
    expect((await first(ben)).data).toEqual({ seenBy: '["ben"]' });
    expect((await first({ access: { key: "admin" } })).data).toEqual({ seenBy: "admin" });
  });
});
