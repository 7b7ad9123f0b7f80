import { GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionArgs } from "graphql";
import { accessScopeOf } from "../../src/auth/access-scope";
import type { Principal } from "../../src/auth/principal";
import { SEE_ALL, type Visibility } from "../../src/domain/visibility";
import { accessIn, accessOf, type Grant } from "../../src/domain/workflow-access";
import { eventScopeOf, isEventLocal } from "../../src/graphql/event-scope";
import { createSharedSubscribe } from "../../src/server/shared-subscribe";

const local = (query: string) => isEventLocal(parse(query));

describe("operations whose result each event decides alone", () => {
  it("are live node or event streams that select stored node fields and the event's own", () => {
    expect(local(`subscription { nodeAdded(workflowId: "w") { id seq type content metadata redacted } }`)).toBe(true);
    expect(local(`subscription { monitoredActivity(monitorId: "m") { __typename id restrictedTo writtenBy } }`)).toBe(
      true,
    );
    expect(local(`subscription { workflowEvents(workflowId: "w") { seq kind at status node { id content } } }`)).toBe(
      true,
    );
    expect(local(`subscription { replayWorkflow(workflowId: "w") { seq kind } }`)).toBe(true);
    expect(
      local(`subscription S($all: Boolean!) {
        nodeAdded(workflowId: "w") { ...Fields depth @include(if: $all) ... on WorkflowNode { agentId } }
      }
      fragment Fields on WorkflowNode { id content timestamp }`),
    ).toBe(true);
  });

  it("are not when a field reads beyond the event, depends on the caller otherwise, or is unknown", () => {
    expect(local(`subscription { nodeAdded(workflowId: "w") { id parent { id } } }`)).toBe(false);
    expect(local(`subscription { nodeAdded(workflowId: "w") { id pathToRoot { id } } }`)).toBe(false);
    expect(local(`subscription { nodeAdded(workflowId: "w") { id children { id } } }`)).toBe(false);
    expect(local(`subscription { workflowEvents(workflowId: "w") { seq branch { id } } }`)).toBe(false);
    expect(local(`subscription { workflowEvents(workflowId: "w") { seq decision { id } option { id } } }`)).toBe(false);
    // What the caller may know of pruned branches depends on its principals.
    expect(local(`subscription { workflowEvents(workflowId: "w") { seq prunedBranchIds } }`)).toBe(false);
    expect(local(`subscription { workflowEvents(workflowId: "w") { seq prunedNodeCount } }`)).toBe(false);
    expect(local(`subscription { workflowEvents(workflowId: "w") { node { id parent { id } } } }`)).toBe(false);
    expect(local(`subscription { nodeAdded(workflowId: "w") { id @custom } }`)).toBe(false);
    expect(local(`subscription { nodeAdded(workflowId: "w") { ...Missing } }`)).toBe(false);
    expect(local(`subscription { somethingElse { id } }`)).toBe(false);
    expect(local(`query { workflowNodes { id } }`)).toBe(false);
    expect(
      local(`subscription { nodeAdded(workflowId: "w") { ...A } }
      fragment A on WorkflowNode { id ...B } fragment B on WorkflowNode { ...A }`),
    ).toBe(false);
  });

  it("names the operation of a document that holds several", () => {
    const document = parse(`subscription Plain { nodeAdded(workflowId: "w") { id } }
      subscription Deep { nodeAdded(workflowId: "w") { pathToRoot { id } } }`);
    expect(isEventLocal(document, "Plain")).toBe(true);
    expect(isEventLocal(document, "Deep")).toBe(false);
  });
});

const principal = (sub: string, roles: string[], groups: string[] = []): Principal =>
  ({ sub, roles, groups, claims: { sub }, anonymous: false, expiresAt: null }) as Principal;

function contextOf(who: Principal, visibility: Partial<Visibility> = {}) {
  const access = accessScopeOf(who);
  return {
    access,
    visibility: { ...SEE_ALL, seeAll: access.admin, principals: access.principals, ...visibility },
  };
}

const NODE_ADDED = parse(`subscription { nodeAdded(workflowId: "w") { id content redacted } }`);
const argsFor = (contextValue: unknown, document = NODE_ADDED) =>
  ({ schema: undefined as never, document, contextValue }) as ExecutionArgs;
const nodeEvent = (restrictedTo: string[] | null | undefined) => ({
  kind: "NODE_ADDED",
  seq: 3,
  workflowId: "w",
  node: { id: "n", workflowId: "w", restrictedTo },
});

describe("a caller's class for one event", () => {
  const ben = contextOf(principal("ben", ["reader"]));
  const dan = contextOf(principal("dan", ["reader"]));
  const carol = contextOf(principal("carol", ["reader"], ["ops"]));
  const ana = contextOf(principal("ana", ["writer"]), { ownedWorkflowIds: ["w"] });

  it("is the same for callers on the same side of the event node's restriction, whoever they are", () => {
    const open = nodeEvent(null);
    expect(eventScopeOf(argsFor(ben), open)).toBe("event:open");
    expect(eventScopeOf(argsFor(carol), open)).toBe("event:open");
    const restricted = nodeEvent(["group:ops"]);
    expect(eventScopeOf(argsFor(ben), restricted)).toBe("event:redacted");
    expect(eventScopeOf(argsFor(dan), restricted)).toBe("event:redacted");
    expect(eventScopeOf(argsFor(carol), restricted)).toBe("event:sees");
    // The workflow's owner reads every node of it.
    expect(eventScopeOf(argsFor(ana), restricted)).toBe("event:sees");
    expect(eventScopeOf(argsFor(ben), { kind: "BRANCH_CREATED", seq: 4, workflowId: "w" })).toBe("event:open");
  });

  it("is none (the whole scope decides) for other operations, admins, a pending view or an unknown restriction", () => {
    const deep = parse(`subscription { nodeAdded(workflowId: "w") { pathToRoot { content } } }`);
    expect(eventScopeOf(argsFor(ben, deep), nodeEvent(null))).toBeUndefined();
    expect(eventScopeOf(argsFor(contextOf(principal("root", ["admin"]))), nodeEvent(null))).toBeUndefined();
    expect(eventScopeOf(argsFor({ ...ben, pendingAccess: () => undefined }), nodeEvent(null))).toBeUndefined();
    expect(eventScopeOf(argsFor(ben), nodeEvent(undefined))).toBeUndefined();
    expect(eventScopeOf(argsFor({}), nodeEvent(null))).toBeUndefined();
  });
});

describe("indexed grants", () => {
  it("give each caller the same access as a pass over the list", () => {
    const grants: Grant[] = [
      { principal: "ana", access: "OWNER" },
      { principal: "ben", access: "READ" },
      { principal: "group:ops", access: "WRITE" },
      { principal: "ben", access: "WRITE" },
    ];
    const callers = [
      principal("ana", ["writer"]),
      principal("ben", ["reader"]),
      principal("carol", ["reader"], ["ops"]),
      principal("dan", ["reader"]),
      principal("root", ["admin"]),
    ].map(accessScopeOf);
    for (const scope of callers) expect(accessIn(scope, grants)).toBe(accessOf(scope, grants));
    expect(callers.map((scope) => accessIn(scope, grants))).toEqual(["OWNER", "WRITE", "WRITE", null, "OWNER"]);
  });
});

describe("shared subscription results", () => {
  /** A schema with one subscription whose events the test pushes, and a count of resolver runs. */
  function tickSchema() {
    const listeners = new Set<(value: { seq: number; node: { restrictedTo: null } }) => void>();
    const runs = { count: 0 };
    const failFor = { sub: "" };
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: "Query", fields: { ok: { type: GraphQLString } } }),
      subscription: new GraphQLObjectType({
        name: "Subscription",
        fields: {
          nodeAdded: {
            type: new GraphQLObjectType({ name: "WorkflowNode", fields: { id: { type: GraphQLString } } }),
            args: { workflowId: { type: GraphQLString } },
            subscribe: () => {
              const queue: unknown[] = [];
              let wake: (() => void) | undefined;
              listeners.add((value) => {
                queue.push(value);
                wake?.();
              });
              return {
                async next() {
                  while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
                  return { value: queue.shift(), done: false };
                },
                async return() {
                  return { value: undefined, done: true };
                },
                [Symbol.asyncIterator]() {
                  return this;
                },
              };
            },
            resolve: (event: { seq: number }, _args: unknown, context: { access: { sub: string } }) => {
              runs.count += 1;
              if (context.access.sub === failFor.sub) throw new Error(`no longer readable by ${failFor.sub}`);
              return { id: `n${event.seq}` };
            },
          },
        },
      }),
    });
    const publish = (seq: number) => listeners.forEach((listener) => listener({ seq, node: { restrictedTo: null } }));
    return { schema, publish, runs, failFor };
  }

  it("executes an event once for callers of one class, and once per whole scope without a class", async () => {
    const { schema, publish, runs } = tickSchema();
    const shared = createSharedSubscribe((event) => `w:${(event as { seq: number }).seq}`, undefined, eventScopeOf);
    const document = parse(`subscription { nodeAdded(workflowId: "w") { id } }`);
    const callers = ["ben", "dan", "eve"].map((sub) => contextOf(principal(sub, ["reader"])));
    const streams = await Promise.all(
      callers.map(async (contextValue) => {
        const result = await shared({ schema, document, contextValue });
        return result as AsyncIterableIterator<{ data?: unknown }>;
      }),
    );
    publish(1);
    const first = await Promise.all(streams.map((s) => s.next()));
    expect(first.map((r) => r.value.data)).toEqual(callers.map(() => ({ nodeAdded: { id: "n1" } })));
    expect(runs.count).toBe(1);
    expect(shared.stats.executions).toBe(1);

    // Without classes (no scopeOf), three callers who are three users mean three executions.
    const { schema: other, publish: publishOther, runs: otherRuns } = tickSchema();
    const unclassed = createSharedSubscribe((event) => `w:${(event as { seq: number }).seq}`);
    const plain = await Promise.all(
      callers.map(
        async (contextValue) =>
          (await unclassed({ schema: other, document, contextValue })) as AsyncIterableIterator<unknown>,
      ),
    );
    publishOther(1);
    await Promise.all(plain.map((s) => s.next()));
    expect(otherRuns.count).toBe(3);
    expect(unclassed.stats.executions).toBe(3);
    await Promise.all([...streams, ...plain].map((s) => s.return?.()));
  });

  it("does not hand one caller's error to another of its class: that one computes its own", async () => {
    const { schema, publish, runs, failFor } = tickSchema();
    failFor.sub = "ben";
    const shared = createSharedSubscribe((event) => `w:${(event as { seq: number }).seq}`, undefined, eventScopeOf);
    const document = parse(`subscription { nodeAdded(workflowId: "w") { id } }`);
    const [ben, dan] = await Promise.all(
      ["ben", "dan"].map(
        async (sub) =>
          (await shared({
            schema,
            document,
            contextValue: contextOf(principal(sub, ["reader"])),
          })) as AsyncIterableIterator<{
            data?: unknown;
            errors?: unknown[];
          }>,
      ),
    );
    publish(1);
    // ben's stream asks first: its execution fails, and dan does not take that failure for its own.
    const [bens, dans] = await Promise.all([ben.next(), dan.next()]);
    expect(bens.value.errors).toHaveLength(1);
    expect(dans.value).toEqual({ data: { nodeAdded: { id: "n1" } } });
    expect(runs.count).toBe(2);
    await Promise.all([ben.return?.(), dan.return?.()]);
  });
});
