import type { TokenClaims } from "../src/auth/sign-token";
import { APPEND_NODE, GRANT_ACCESS, SET_BRANCH_VISIBILITY, START_WORKFLOW } from "./support/documents";
import type { Callers } from "./support/callers";
import { disposeAll, eventually, startAuthenticatedApp, subscribe, type RunningApp } from "./support/harness";

/**
 * The same subscription held by several users: those who see an event alike (the same side of its
 * node's restriction, after their own branch filter) share one execution of it, and each still
 * receives only what it may see. ana owns the workflow; ben and dan may read it and are in no
 * restriction list; carol (group ops) may read it, is in the private node's list and is the only
 * reader of the secret branch.
 */

const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
const BEN: TokenClaims = { sub: "ben", roles: ["reader"] };
const DAN: TokenClaims = { sub: "dan", roles: ["reader"] };
const CAROL: TokenClaims = { sub: "carol", roles: ["reader"], groups: ["ops"] };

let api: RunningApp;
let as: Callers;
beforeAll(async () => {
  ({ api, as } = await startAuthenticatedApp());
});
afterAll(disposeAll);

const NODE_ADDED = `subscription ($id: ID!) { nodeAdded(workflowId: $id) { id content redacted } }`;

async function append(workflowId: string, parentId: string, content: string, extra: Record<string, unknown> = {}) {
  const data = await as.ok(ANA, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content, ...extra } });
  return data.appendNode as { id: string; branchId: string };
}

/** ana's workflow: main (root → m1) and a secret branch (root → s1) restricted to carol. */
async function story() {
  const started = await as.ok(ANA, START_WORKFLOW, { input: { name: "shared scope", systemPrompt: "work" } });
  const workflowId = started.startWorkflow.id as string;
  const rootId = started.startWorkflow.root.id as string;
  const m1 = await append(workflowId, rootId, "public step");
  const s1 = await append(workflowId, rootId, "secret plan");
  expect(s1.branchId).not.toBe(m1.branchId);
  await as.ok(ANA, SET_BRANCH_VISIBILITY, { input: { branchId: s1.branchId, restrictedTo: ["carol"] } });
  for (const principal of ["ben", "dan", "group:ops"]) {
    await as.ok(ANA, GRANT_ACCESS, { input: { workflowId, principal, access: "READ" } });
  }
  return { workflowId, m1: m1.id, s1: s1.id };
}

const executions = () => api.app.subscriptionStats.executions;

describe("one subscription operation held by users who see alike or differently", () => {
  it("executes each event once per visibility class, and delivers to each user only what it may see", async () => {
    const w = await story();
    const [ben, dan, carol, ana] = await Promise.all(
      [BEN, DAN, CAROL, ANA].map(async (who) => subscribe(await as.client(who), NODE_ADDED, { id: w.workflowId })),
    );
    await eventually(() => api.app.liveSubscribers(w.workflowId) >= 4);

    // Nothing restricted: four users, one execution.
    let before = executions();
    const open = await append(w.workflowId, w.m1, "for all");
    const openEvent = { nodeAdded: { id: open.id, content: "for all", redacted: false } };
    for (const sub of [ben, dan, carol, ana]) expect(await sub.next()).toEqual(openEvent);
    expect(executions() - before).toBe(1);

    // A node for group ops: ben and dan share the redacted result, carol and ana (the owner) the
    // full one; each class is read once.
    before = executions();
    const readsBefore = api.app.loaderStats.queries;
    const forOps = await append(w.workflowId, open.id, "for ops", { restrictedTo: ["group:ops"] });
    const redacted = { nodeAdded: { id: forOps.id, content: null, redacted: true } };
    const shown = { nodeAdded: { id: forOps.id, content: "for ops", redacted: false } };
    expect(await ben.next()).toEqual(redacted);
    expect(await dan.next()).toEqual(redacted);
    expect(await carol.next()).toEqual(shown);
    expect(await ana.next()).toEqual(shown);
    expect(executions() - before).toBe(2);
    // One read for the mutation's own result (a restricted node is always read), one per class.
    expect(api.app.loaderStats.queries - readsBefore).toBe(3);

    // On the secret branch: only carol and ana receive it (one execution between them); ben's and
    // dan's next event is the one after it.
    before = executions();
    const secret = await append(w.workflowId, w.s1, "secret detail");
    const after = await append(w.workflowId, forOps.id, "after the secret");
    expect((await carol.next()).nodeAdded).toEqual({ id: secret.id, content: "secret detail", redacted: false });
    expect((await ana.next()).nodeAdded.id).toBe(secret.id);
    for (const sub of [ben, dan, carol, ana]) expect((await sub.next()).nodeAdded.id).toBe(after.id);
    expect(executions() - before).toBe(2);
    await expect(ben.next(500)).rejects.toThrow(/no event/);
    await expect(dan.next(500)).rejects.toThrow(/no event/);
  });

  it("keeps users apart when the operation reads beyond the event (a path through a redacted node)", async () => {
    const w = await story();
    const forOps = await append(w.workflowId, w.m1, "for ops", { restrictedTo: ["group:ops"] });
    const PATH = `subscription ($id: ID!) { nodeAdded(workflowId: $id) { id pathToRoot { id content } } }`;
    const [ben, dan, carol] = await Promise.all(
      [BEN, DAN, CAROL].map(async (who) => subscribe(await as.client(who), PATH, { id: w.workflowId })),
    );
    await eventually(() => api.app.liveSubscribers(w.workflowId) >= 3);
    const before = executions();
    const open = await append(w.workflowId, forOps.id, "open leaf");
    const contentOf = (event: Record<string, any>) =>
      (event.nodeAdded.pathToRoot as { id: string; content: string | null }[]).find((n) => n.id === forOps.id)?.content;
    const [bens, dans, carols] = await Promise.all([ben.next(), dan.next(), carol.next()]);
    for (const event of [bens, dans, carols]) expect(event.nodeAdded.id).toBe(open.id);
    expect(contentOf(bens)).toBeNull();
    expect(contentOf(dans)).toBeNull();
    expect(contentOf(carols)).toBe("for ops");
    // Each user's own scope: the event node alone does not decide what the path shows.
    expect(executions() - before).toBe(3);
  });
});
