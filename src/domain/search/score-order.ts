/** One hit of a full-text index: its score and the key that orders hits of equal score. */
export interface ScoredHit {
  score: number;
  key: readonly (string | number)[];
}

/** Score descending, then key ascending: the order of every search's results. */
export function compareHits(a: ScoredHit, b: ScoredHit): number {
  if (a.score !== b.score) return b.score - a.score;
  for (let i = 0; i < a.key.length; i++) {
    const x = a.key[i];
    const y = b.key[i];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** What one read of the index's best hits found. */
export interface TopRead<T> {
  /** The score of every hit the index returned, in its order (before any filter). */
  scores: number[];
  /** How many of those hits pass every filter and come after the cursor. */
  passed: number;
  /**
   * The score the cursor's own hit has in this read, when the read holds it (null otherwise):
   * scores move a little with every write to the index, so the cursor is placed by its hit.
   */
  cursorScore?: number | null;
  /**
   * The first `count` of the hits that pass, in {@link compareHits} order, chosen by the database
   * (only these are read out): when the read is full (`scores.length` is the limit asked for), the
   * hits tied at its lowest score are left out, since more of them may follow it.
   */
  hits: T[];
}

/** How one search reads its hits after the cursor, with every filter applied. */
export interface HitReader<T extends ScoredHit> {
  /**
   * The index's best `skip + limit` hits but the first `skip` (its `skip` and `limit` options:
   * Lucene keeps a heap of that many and hands over `limit`), filtered, ordered and cut to
   * `count` (see {@link TopRead}).
   */
  top(skip: number, limit: number, count: number): Promise<TopRead<T>>;
  /**
   * At most `limit` hits that pass the filters, in the index's order, the index's hits read one by
   * one until there are enough (for filters that leave out most hits).
   */
  stream(limit: number): Promise<T[]>;
  /** The hits with exactly this score, in key order, at most `limit` (reads every hit of the index). */
  ties(score: number, limit: number): Promise<T[]>;
}

/**
 * What {@link HitReader.top} returns for an index read `read` (its hits in the index's order):
 * the selection its statements make, in memory (for readers without a database).
 */
export function selectTop<T extends ScoredHit>(
  read: readonly T[],
  passes: (hit: T) => boolean,
  limit: number,
  count: number,
): TopRead<T> {
  const scores = read.map((hit) => hit.score);
  const passing = read.filter(passes).sort(compareHits);
  const known = scores.length < limit ? passing : passing.filter((hit) => hit.score > scores[scores.length - 1]);
  return { scores, passed: passing.length, hits: known.slice(0, count) };
}

/**
 * The narrowest first `top` read (see {@link firstHits}): a second read scores every match again,
 * while a wider first one only keeps a bigger heap and checks more hits in the database.
 */
export const MIN_TOP_READ = 256;

/** The widest `top` read before {@link firstHits} falls back to reading hits one by one. */
export const MAX_TOP_READ = 65536;

/**
 * A hit as a page returns it, with the hints its cursor records: `position`, how many of the
 * index's hits come before the first one with its score, and `groupEnd`, before the first one
 * scoring below it (0 when unknown).
 */
export type PagedHit<T> = T & { position: number; groupEnd: number };

/**
 * The first `count` hits after the cursor `after` in {@link compareHits} order, without sorting
 * every hit.
 *
 * The index is asked for its best N hits (Lucene keeps a heap of N, far cheaper than handing over
 * every hit), at least {@link MIN_TOP_READ} (four times that when the client filters) and room
 * for two pages (sixteen when the client filters). Every hit scoring above the lowest score read is then known, so when at least `count`
 * of those pass the filters and follow the cursor, they are the answer; the database orders them
 * and hands over only those (see {@link TopRead}), so a wide read or a wide group of ties costs
 * little more than a page. Otherwise (filters that leave most hits out, or more hits tied at the
 * lowest score than the read holds) N grows, at least fourfold, by what the filters let through,
 * and the index is asked again. Past `maxTopRead`, the hits that pass are read one by one in the
 * index's order instead ({@link HitReader.stream}), and the ones tied at the lowest score among
 * them in key order. Equal scores are common (a score depends on term counts and a coarse length
 * norm), and the index orders them as it pleases, so the key order among them is ours.
 *
 * A later page skips the hits before the cursor's score in the index (`hint`, the position its
 * cursor recorded), so Neo4j hands over only the page's hits: safe when the first hit it hands over
 * scores above the cursor (every hit skipped then scores higher still, so precedes the cursor);
 * otherwise (the index changed since) the page is read again from the top.
 */
export async function firstHits<T extends ScoredHit>(
  reader: HitReader<T>,
  count: number,
  after: { score: number; position?: number; groupEnd?: number } | null = null,
  options: { maxTopRead?: number; minTopRead?: number; filtered?: boolean } = {},
): Promise<PagedHit<T>[]> {
  if (count <= 0) return [];
  const maxTopRead = options.maxTopRead ?? MAX_TOP_READ;
  // Filters the client gave usually leave most hits out: start wider rather than read twice.
  const room = Math.max(2 * count, 20) * (options.filtered ? 8 : 1);
  let skip = after?.position ? Math.max(0, after.position - 1) : 0;
  // The database orders and cuts the read, so a wide read costs little more than a narrow one,
  // while a second read costs the whole scoring again: start wide.
  // Filtered, fourfold: a page that ends inside a wide group of equal scores needs `count` passing
  // hits above the group, and a filter keeping one hit in seven needs seven times the hits.
  let limit = Math.max(room, (options.minTopRead ?? MIN_TOP_READ) * (options.filtered ? 4 : 1));
  // A cursor inside a wide group of equal scores: a read that ends inside the group, or at the
  // start of the next one, finds nothing it can return (its lowest score's hits may go on past it)
  // and is read again wider. Read the rest of the group twice over at once (the next group is
  // about as wide), within the widest read.
  if (after?.groupEnd && after.groupEnd > skip) {
    limit = Math.max(limit, Math.min(maxTopRead, 2 * (after.groupEnd - skip) + room));
  }
  while (limit <= maxTopRead) {
    const { scores, passed, hits, cursorScore } = await reader.top(skip, limit, count);
    if (skip > 0 && !(scores.length > 0 && scores[0] > (cursorScore ?? after!.score))) {
      skip = 0;
      continue;
    }
    if (scores.length < limit || hits.length >= count) {
      return hits.map((hit) => {
        const first = scores.indexOf(hit.score);
        const end = scores.findIndex((score) => score < hit.score);
        return {
          ...hit,
          // A group that starts the read may have started before it: no hint.
          position: first <= 0 && skip > 0 ? 0 : skip + Math.max(0, first),
          // A group that reaches the read's end may go on past it: no hint.
          groupEnd: end < 0 ? 0 : skip + end,
        };
      });
    }
    // Grow by what the filters let through so far (fourfold at least), so a filter that keeps one
    // hit in ten takes one more read, not three.
    limit *= Math.min(16, Math.max(4, Math.ceil((2 * count) / Math.max(1, passed))));
  }
  // Every hit read holds a score at or above the lowest: with the ties at the lowest score added,
  // there are at least `room` ≥ `count` of them.
  const read = await reader.stream(room);
  const ordered = [...read].sort(compareHits);
  if (read.length < room) return ordered.slice(0, count).map((hit) => ({ ...hit, position: 0, groupEnd: 0 }));
  const lowest = Math.min(...read.map((hit) => hit.score));
  const above = ordered.filter((hit) => hit.score > lowest);
  const ties = above.length >= count ? [] : await reader.ties(lowest, count - above.length);
  return [...above, ...ties].slice(0, count).map((hit) => ({ ...hit, position: 0, groupEnd: 0 }));
}
