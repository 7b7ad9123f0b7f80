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
  /** How many hits the index returned (before any filter): fewer than asked means all of them. */
  read: number;
  /** The lowest score among them (null when none). */
  lowest: number | null;
  /** Those that pass every filter and come after the cursor, each with its rank in the index's order. */
  hits: (T & { rank: number })[];
}

/** How one search reads its hits after the cursor, with every filter applied. */
export interface HitReader<T extends ScoredHit> {
  /** The index's best `limit` hits (its `limit` option: Lucene keeps only those), filtered. */
  top(limit: number): Promise<TopRead<T>>;
  /**
   * At most `limit` hits that pass the filters, in the index's order, the index's hits read one by
   * one until there are enough (for filters that leave out most hits).
   */
  stream(limit: number): Promise<T[]>;
  /** The hits with exactly this score, in key order, at most `limit` (reads every hit of the index). */
  ties(score: number, limit: number): Promise<T[]>;
}

/** The widest `top` read before {@link firstHits} falls back to reading hits of one score. */
export const MAX_TOP_READ = 65536;

/** A hit as a page returns it, with the index position its cursor records as a hint. */
export type PagedHit<T> = T & { position: number };

/**
 * The first `count` hits after the cursor in {@link compareHits} order, without sorting every hit.
 *
 * The index is asked for its best N hits (Lucene keeps a heap of N, far cheaper than handing over
 * every hit), starting from `hint` (where the previous page ended in the index's order) plus room
 * for the page. Every hit scoring above the lowest score read is then known, so when at least
 * `count` of those pass the filters and follow the cursor, they are the answer. Otherwise (filters
 * that leave most hits out, or many hits tied at the lowest score) N grows fourfold and the index
 * is asked again. Past `maxTopRead`, the hits that pass are read one by one in the index's order
 * instead ({@link HitReader.stream}), and the ones tied at the lowest score among them in key order.
 * Equal scores are common (a score depends on term counts and a coarse length norm), and the index
 * orders them as it pleases, so the key order among them is ours to make.
 */
export async function firstHits<T extends ScoredHit>(
  reader: HitReader<T>,
  count: number,
  hint = 0,
  maxTopRead = MAX_TOP_READ,
): Promise<PagedHit<T>[]> {
  if (count <= 0) return [];
  const room = Math.max(2 * count, 20);
  let limit = Math.min(Math.max(hint, 0), maxTopRead) + room;
  while (limit <= maxTopRead) {
    const top = await reader.top(limit);
    const ordered = [...top.hits].sort(compareHits);
    const placed = (hits: (T & { rank: number })[]): PagedHit<T>[] =>
      hits.map((hit) => ({ ...hit, position: hit.rank + 1 }));
    if (top.read < limit || top.lowest === null) return placed(ordered.slice(0, count));
    const lowest = top.lowest;
    const above = ordered.filter((hit) => hit.score > lowest);
    if (above.length >= count) return placed(above.slice(0, count));
    limit *= 4;
  }
  // Every hit read holds a score at or above the lowest: with the ties at the lowest score added,
  // there are at least `room` ≥ `count` of them.
  const read = await reader.stream(room);
  const ordered = [...read].sort(compareHits);
  const position = maxTopRead;
  if (read.length < room) return ordered.slice(0, count).map((hit) => ({ ...hit, position }));
  const lowest = Math.min(...read.map((hit) => hit.score));
  const above = ordered.filter((hit) => hit.score > lowest);
  const ties = above.length >= count ? [] : await reader.ties(lowest, count - above.length);
  return [...above, ...ties].slice(0, count).map((hit) => ({ ...hit, position }));
}
