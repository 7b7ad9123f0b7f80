import { badUserInput } from "../../errors";

/**
 * Where a search page ends: the last hit's score and its key (a node's workflowId and seq; a
 * workflow's id). The next page asks the index again for hits after it: a lower score, or the same
 * score and a greater key. A score is a double that JSON carries exactly, so the comparison is exact.
 */
export interface SearchCursor {
  score: number;
  key: readonly (string | number)[];
  /**
   * Where the hit stood in the index's order: a hint for how many hits the next page asks the
   * index for (a wrong hint costs time, never correctness).
   */
  position?: number;
  /**
   * How many of the index's hits come before the first one scoring below the hit, when the read
   * that found it held that one (0: unknown): how wide the next page's first read should be to
   * hold the rest of the hit's group of equal scores. A hint too.
   */
  groupEnd?: number;
}

/** The cursor format's version: a later format can still read the cursors clients hold. */
const CURSOR_VERSION = 1;

/**
 * An opaque cursor: base64url of `{"v":1,"s":<score>,"k":[…],"p":<position>,"e":<groupEnd>}` (`e`
 * is left out when unknown; cursors made before it existed have none).
 */
export function encodeSearchCursor(cursor: SearchCursor): string {
  const payload = {
    v: CURSOR_VERSION,
    s: cursor.score,
    k: cursor.key,
    p: cursor.position ?? 0,
    ...(cursor.groupEnd ? { e: cursor.groupEnd } : {}),
  };
  return Buffer.from(JSON.stringify(payload)).toString("base64url");
}

/**
 * The position a cursor resumes after; `shape` gives the type of each key part.
 * @throws GraphQLError BAD_USER_INPUT when the cursor is not one {@link encodeSearchCursor} made
 * for this kind of search.
 */
export function decodeSearchCursor(cursor: string, shape: readonly ("string" | "number")[]): SearchCursor {
  let payload: unknown;
  try {
    payload = /^[A-Za-z0-9_-]+$/.test(cursor) ? JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) : null;
  } catch {
    payload = null;
  }
  const { v, s, k, p, e } = (payload ?? {}) as { v?: unknown; s?: unknown; k?: unknown; p?: unknown; e?: unknown };
  const keyFits =
    Array.isArray(k) &&
    k.length === shape.length &&
    k.every((part, i) =>
      shape[i] === "number" ? typeof part === "number" && Number.isSafeInteger(part) : typeof part === "string",
    );
  const count = (x: unknown) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
  const hintsFit = count(p) && (e === undefined || count(e));
  if (v !== CURSOR_VERSION || typeof s !== "number" || !Number.isFinite(s) || !keyFits || !hintsFit) {
    throw badUserInput("after is not a cursor that this search returned", { field: "after" });
  }
  const groupEnd = (e as number | undefined) ?? 0;
  return { score: s, key: k as (string | number)[], position: p as number, ...(groupEnd ? { groupEnd } : {}) };
}
