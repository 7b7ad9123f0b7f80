import { accessScopeOf } from "../../src/auth/access-scope";
import type { Principal } from "../../src/auth/principal";
import {
  canSeeContent,
  excludes,
  hiddenByLineage,
  hidingRootsIn,
  normalizeRestrictedTo,
  SEE_ALL,
  type Visibility,
} from "../../src/domain/visibility";
import { watchVisibility } from "../../src/live/visible-events";
import { createSharedAccess } from "../../src/live/shared-access";
import { thrown } from "../support/thrown";

const principal = (sub: string, roles: string[], groups: string[] = []): Principal =>
  ({ sub, roles, groups, claims: { sub }, anonymous: false, expiresAt: null }) as Principal;

describe("restriction lists", () => {
  it("normalises: no repeats, sorted; null or empty means unrestricted", () => {
    expect(normalizeRestrictedTo(["b", "a", "b"], "input.restrictedTo")).toEqual(["a", "b"]);
    expect(normalizeRestrictedTo([], "input.restrictedTo")).toBeNull();
    expect(normalizeRestrictedTo(null, "input.restrictedTo")).toBeNull();
  });

  it("refuses a blank principal and a list over 100, naming the field", () => {
    const blank = thrown(() => normalizeRestrictedTo(["a", " "], "input.restrictedTo"));
    expect(blank.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.restrictedTo[1]" });
    const long = thrown(() => normalizeRestrictedTo([...Array(101).keys()].map(String), "input.restrictedTo"));
    expect(long.extensions).toMatchObject({ code: "BAD_USER_INPUT", limit: 100 });
  });

  it("excludes a caller none of whose principals is listed", () => {
    expect(excludes(["ana", "group:ops"], ["ben"])).toBe(true);
    expect(excludes(["ana", "group:ops"], ["ben", "group:ops"])).toBe(false);
    expect(excludes(null, ["ben"])).toBe(false);
    expect(excludes([], ["ben"])).toBe(false);
  });
});

describe("hidden branches", () => {
  const restricted = [
    { id: "secret", restrictedTo: ["carol"] },
    { id: "ops-only", restrictedTo: ["group:ops"] },
  ];
  const grants = [
    { principal: "ana", access: "OWNER" as const },
    { principal: "ben", access: "WRITE" as const },
    { principal: "group:ops", access: "READ" as const },
  ];

  it("hides from a reader the restricted branches that leave it out, and nothing from owners and admins", () => {
    expect([...hidingRootsIn(accessScopeOf(principal("ben", ["writer"])), grants, restricted)].sort()).toEqual([
      "ops-only",
      "secret",
    ]);
    expect([...hidingRootsIn(accessScopeOf(principal("carol", ["reader"], ["ops"])), grants, restricted)]).toEqual([]);
    expect([...hidingRootsIn(accessScopeOf(principal("dan", ["reader"], ["ops"])), grants, restricted)]).toEqual([
      "secret",
    ]);
    expect(hidingRootsIn(accessScopeOf(principal("ana", ["writer"])), grants, restricted).size).toBe(0);
    expect(hidingRootsIn(accessScopeOf(principal("root", ["admin"])), [], restricted).size).toBe(0);
  });

  it("hides a branch whose lineage holds a hiding root: the root itself and every fork of it", () => {
    const roots = new Set(["secret"]);
    expect(hiddenByLineage(["main", "secret"], roots)).toBe(true);
    expect(hiddenByLineage(["main", "secret", "fork-of-secret"], roots)).toBe(true);
    expect(hiddenByLineage(["main", "open"], roots)).toBe(false);
    expect(hiddenByLineage(undefined, roots)).toBe(false);
    expect(hiddenByLineage(["secret"], new Set())).toBe(false);
  });

  it("redacts a restricted node's content for everyone outside its list but owners and admins", () => {
    const reader = (principals: string[], owned: string[] = []): Visibility => ({
      ...SEE_ALL,
      seeAll: false,
      principals,
      ownedWorkflowIds: owned,
    });
    const node = { workflowId: "w", restrictedTo: ["group:ops"] };
    expect(canSeeContent(reader(["ben"]), node)).toBe(false);
    expect(canSeeContent(reader(["carol", "group:ops"]), node)).toBe(true);
    expect(canSeeContent(reader(["ana"], ["w"]), node)).toBe(true);
    expect(canSeeContent(SEE_ALL, node)).toBe(true);
    expect(canSeeContent(reader(["ben"]), { workflowId: "w", restrictedTo: null })).toBe(true);
  });
});

/** An async iterator over `items` that then waits until returned. */
function source<T>(items: T[]) {
  let ended = false;
  let wake: (() => void) | undefined;
  const it: AsyncIterableIterator<T> = {
    async next() {
      if (items.length) return { value: items.shift()!, done: false };
      if (!ended) await new Promise<void>((r) => (wake = r));
      return { value: undefined, done: true };
    },
    async return() {
      ended = true;
      wake?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

describe("watchVisibility", () => {
  it("looks the view up again before a visibility change is judged, and filters by the new view", async () => {
    const hidden = new Set(["b"]);
    const refreshedAt: number[] = [];
    const events = [
      { seq: 1, branch: "a" },
      { seq: 2, branch: "b" },
      { seq: 3, change: true, branch: "a" },
      { seq: 4, branch: "a" },
      { seq: 5, branch: "b" },
    ];
    const watched = watchVisibility(source(events), {
      refresh: async (seq) => {
        refreshedAt.push(seq);
        // The change at seq 3 hides a and shows b.
        hidden.clear();
        hidden.add("a");
        return true;
      },
      visible: (e) => !hidden.has(e.branch),
      changesVisibility: (e) => e.change === true,
      watch: () => () => undefined,
    });
    const seen: number[] = [];
    for (let i = 0; i < 2; i += 1) seen.push((await watched.next()).value!.seq);
    expect(seen).toEqual([1, 5]);
    expect(refreshedAt).toEqual([3]);
    await watched.return!();
  });

  it("ends the stream when a lookup says the workflow can no longer be read", async () => {
    const watched = watchVisibility(source([{ seq: 1 }, { seq: 2 }]), {
      refresh: async () => false,
      visible: () => true,
      changesVisibility: (e) => e.seq === 2,
      watch: () => () => undefined,
    });
    expect((await watched.next()).value).toEqual({ seq: 1 });
    expect((await watched.next()).done).toBe(true);
    expect((await watched.next()).done).toBe(true);
  });

  it("ends when the periodic check says revoked, and stops checking once ended", async () => {
    let revoke: () => void = () => undefined;
    let stopped = 0;
    const watched = watchVisibility(source<{ seq: number }>([]), {
      refresh: async () => true,
      visible: () => true,
      changesVisibility: () => false,
      watch: (revoked) => {
        revoke = revoked;
        return () => (stopped += 1);
      },
    });
    const next = watched.next();
    revoke();
    expect((await next).done).toBe(true);
    expect(stopped).toBe(1);
  });
});

describe("createSharedAccess", () => {
  it("reads a workflow once per interval for all its watchers, and stops when the last one leaves", async () => {
    let reads = 0;
    const shared = createSharedAccess(async () => ({ seq: (reads += 1) }), 20);
    const seen: number[][] = [[], [], []];
    const stops = seen.map((list) => shared.watch("w", (state) => list.push(state.seq)));
    await new Promise((r) => setTimeout(r, 110));
    expect(seen[0].length).toBeGreaterThanOrEqual(3);
    expect(seen[1]).toEqual(seen[0]);
    expect(reads).toBe(seen[0].length);
    for (const stop of stops) stop();
    expect(shared.watched).toBe(0);
    const after = reads;
    await new Promise((r) => setTimeout(r, 60));
    expect(reads).toBe(after);
  });

  it("answers atLeast(seq) with one shared read, and reads again when what it has is older than seq", async () => {
    let seq = 5;
    let reads = 0;
    const shared = createSharedAccess(async () => {
      reads += 1;
      return { seq };
    }, 60000);
    const stop = shared.watch("w", () => undefined);
    const answers = await Promise.all([1, 2, 3].map(() => shared.atLeast("w", 5)));
    expect(answers.map((a) => a.seq)).toEqual([5, 5, 5]);
    expect(reads).toBe(1);
    expect((await shared.atLeast("w", 4)).seq).toBe(5);
    expect(reads).toBe(1);
    seq = 7;
    expect((await shared.atLeast("w", 7)).seq).toBe(7);
    expect(reads).toBe(2);
    stop();
  });
});
