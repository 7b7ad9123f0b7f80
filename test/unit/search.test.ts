import { highlight, queryTerms } from "../../src/domain/search/highlight";
import { searchSyntaxError } from "../../src/domain/search/lucene-error";
import {
  compareHits,
  firstHits,
  MIN_TOP_READ,
  type HitReader,
  type PagedHit,
  type ScoredHit,
  selectTop,
} from "../../src/domain/search/score-order";
import { decodeSearchCursor, encodeSearchCursor } from "../../src/domain/search/search-cursor";

type Hit = ScoredHit & { visible: boolean };

/**
 * An index in memory: hits best score first, equal scores in a scrambled order (a real index
 * orders them as it pleases), filtered by `visible` and the cursor like the statements do.
 */
function fakeIndex(hits: Hit[], after: ScoredHit | null): HitReader<Hit> & { reads: [number, number][] } {
  const stream = [...hits].sort((a, b) => b.score - a.score || (hashOf(a) % 7) - (hashOf(b) % 7));
  const passes = (hit: Hit) => hit.visible && (after === null || compareHits(after, hit) < 0);
  const reads: [number, number][] = [];
  return {
    reads,
    async top(skip, limit, count) {
      reads.push([skip, limit]);
      return selectTop(stream.slice(skip, skip + limit), passes, limit, count);
    },
    async stream(limit) {
      return stream.filter(passes).slice(0, limit);
    },
    async ties(score, limit) {
      return stream
        .filter((hit) => hit.score === score && passes(hit))
        .sort(compareHits)
        .slice(0, limit);
    },
  };
}
/** A hit that scores above every other and is not visible: it moves every index position on. */
const stale = (i: number): Hit => ({ score: 1000, key: ["stale", i], visible: false });
const hashOf = (hit: ScoredHit) => [...String(hit.key.join())].reduce((h, c) => h * 31 + c.charCodeAt(0), 7) >>> 0;

/** A deterministic pseudo-random sequence. */
function random(seed: number) {
  let x = seed >>> 0 || 1;
  return () => (x = (Math.imul(x ^ (x >>> 13), 1597334677) + 12345) >>> 0) / 4294967296;
}

describe("firstHits: pages in score-then-key order without sorting every hit", () => {
  it("pages through random indexes (many ties, filters) exactly like a full sort, at every page size", async () => {
    for (let seed = 1; seed <= 24; seed++) {
      const next = random(seed);
      const size = Math.floor(next() * 400);
      const distinctScores = 1 + Math.floor(next() * 12);
      const hits: Hit[] = Array.from({ length: size }, (_, i) => ({
        score: 1 + Math.floor(next() * distinctScores) / 4,
        key: [`w${Math.floor(next() * 5)}`, i],
        visible: next() < (seed % 3 === 0 ? 0.1 : 0.8),
      }));
      const expected = hits.filter((h) => h.visible).sort(compareHits);
      const pageSize = 1 + Math.floor(next() * 30);
      const maxTopRead = seed % 2 ? 64 : 100000;
      const seen: Hit[] = [];
      let after: PagedHit<Hit> | null = null;
      for (let pages = 0; pages < 1000; pages++) {
        // Now and then the index changes between pages (better hits added; hits already paged
        // past deleted): a hint gone stale must cost time only.
        const index: Hit[] =
          pages !== 2 || seed % 4 > 1
            ? hits
            : seed % 4 === 0
              ? [...hits, ...Array.from({ length: 30 }, (_, i) => stale(i))]
              : hits.filter((hit) => !seen.slice(0, pageSize).some((s) => s.key.join() === hit.key.join()));
        const page: PagedHit<Hit>[] = await firstHits(fakeIndex(index, after), pageSize + 1, after, {
          maxTopRead,
          // Narrow first reads too, so ties and filters make the reads grow.
          minTopRead: seed % 3 === 1 ? MIN_TOP_READ : 1,
          filtered: seed % 5 === 0,
        });
        seen.push(...page.slice(0, pageSize));
        if (page.length <= pageSize) break;
        after = page[pageSize - 1];
      }
      expect(seen.map((h) => h.key)).toEqual(expected.map((h) => h.key));
    }
  });

  it("asks the index once (at least MIN_TOP_READ hits) when nothing is filtered out, and skips to the cursor's score on the next", async () => {
    const hits: Hit[] = Array.from({ length: 10000 }, (_, i) => ({
      score: 10000 - Math.floor(i / 3),
      key: ["w", i],
      visible: true,
    }));
    const index = fakeIndex(hits, null);
    const page = await firstHits(index, 21);
    expect(index.reads).toEqual([[0, MIN_TOP_READ]]);
    // The 20th hit (i = 19) ties with i = 18 and 20: its score's first hit is at 18.
    expect(page[19]).toMatchObject({ key: ["w", 19], position: 18 });
    const deep = fakeIndex(hits, page[19]);
    const next = await firstHits(deep, 21, page[19]);
    expect(deep.reads).toEqual([[17, MIN_TOP_READ]]);
    expect(next[0].key).toEqual(["w", 20]);
  });

  it("reads a page inside a group of equal scores wider than a read once, with its cursor's hints", async () => {
    // Groups of 400 equal scores, as a common word's hits fall into over a large index.
    const hits: Hit[] = Array.from({ length: 6000 }, (_, i) => ({
      score: 100 - Math.floor(i / 400),
      key: ["w", i],
      visible: true,
    }));
    let after: PagedHit<Hit> | null = null;
    const seen: number[] = [];
    for (let page = 1; page <= 60; page++) {
      const index = fakeIndex(hits, after);
      const found: PagedHit<Hit>[] = await firstHits(index, 21, after);
      seen.push(...found.slice(0, 20).map((h) => h.key[1] as number));
      // Past the first pages, each page is one read of the index, however deep.
      if (page > 3) expect(index.reads).toHaveLength(1);
      after = found[19];
      // The hints a cursor carries through encoding.
      expect(decodeSearchCursor(encodeSearchCursor(after), ["string", "number"])).toMatchObject({
        position: after.position,
        ...(after.groupEnd ? { groupEnd: after.groupEnd } : {}),
      });
    }
    expect(seen).toEqual(Array.from({ length: 1200 }, (_, i) => i));
  });
});

describe("search cursors", () => {
  it("round-trips score, key and position, and refuses anything else", () => {
    const cursor = { score: 4.975926399230957, key: ["a", 7], position: 12 };
    expect(decodeSearchCursor(encodeSearchCursor(cursor), ["string", "number"])).toEqual(cursor);
    for (const bad of ["", "x y", Buffer.from("{}").toString("base64url"), encodeSearchCursor(cursor).slice(2)]) {
      expect(() => decodeSearchCursor(bad, ["string", "number"])).toThrow(/not a cursor/);
    }
    expect(() => decodeSearchCursor(encodeSearchCursor(cursor), ["string"])).toThrow(/not a cursor/);
  });
});

describe("highlight", () => {
  const text = "The planner called search_flights and it timed out after 30 s; retrying with another Timeout value.";
  it.each([
    ["timeout", "…search_flights and it timed out after 30 s; retrying with another «Timeout» value."],
    [
      "search_flights",
      "The planner called «search_flights» and it timed out after 30 s; retrying with another Timeout value.",
    ],
    [
      '"timed out"',
      "The planner called search_flights and it «timed» «out» after 30 s; retrying with another Timeout value.",
    ],
    [
      "time*",
      "The planner called search_flights and it «timed» out after 30 s; retrying with another «Timeout» value.",
    ],
    [
      "content:planner NOT called",
      "The «planner» called search_flights and it timed out after 30 s; retrying with another Timeout value.",
    ],
    [
      "-called +planner^2",
      "The «planner» called search_flights and it timed out after 30 s; retrying with another Timeout value.",
    ],
    ["timout~1", "…search_flights and it timed out after 30 s; retrying with another «Timeout» value."],
    ["nowhere", null],
  ])("%s", (query, expected) => {
    expect(highlight(text, queryTerms(query))).toBe(expected);
  });

  it("cuts a long text around the first match at word boundaries", () => {
    const long = `${"alpha ".repeat(100)}needle ${"omega ".repeat(100)}`;
    const marked = highlight(long, queryTerms("needle"))!;
    expect(marked).toMatch(/^…alpha .*«needle» omega .*omega…$/);
    expect(marked.length).toBeLessThan(260);
  });
});

describe("searchSyntaxError", () => {
  it("turns Lucene's parser failures into BAD_USER_INPUT with the parser's message, and nothing else", () => {
    const parse = {
      code: "Neo.ClientError.Procedure.ProcedureCallFailed",
      message:
        'Failed to invoke procedure `db.index.fulltext.queryNodes`: Caused by: org.apache.lucene.queryparser.classic.ParseException: Encountered "<EOF>" at line 1, column 9.\nWas expecting one of:',
    };
    const error = searchSyntaxError(parse)!;
    expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "query" });
    expect(error.message).toBe('query is not a valid Lucene query: Encountered "<EOF>" at line 1, column 9.');
    expect(
      searchSyntaxError({
        code: "Neo.ClientError.Procedure.ProcedureCallFailed",
        message: "Caused by: java.lang.OutOfMemoryError",
      }),
    ).toBeUndefined();
    expect(searchSyntaxError(new Error("boom"))).toBeUndefined();
  });
});
