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

/** How one search reads its hits after the cursor, with every filter applied. */
export interface HitReader<T extends ScoredHit> {
  /** At most `limit` hits in the index's order (score descending; equal scores in no set order). */
  stream(limit: number): Promise<T[]>;
  /** The hits with exactly this score, in key order, at most `limit`. */
  ties(score: number, limit: number): Promise<T[]>;
}

/**
 * The first `count` hits after the cursor in {@link compareHits} order, without sorting every hit.
 *
 * A full-text index hands its hits over best score first, but orders hits of equal score as it
 * pleases. So one read takes the first `2 × count` hits in the index's order: every hit scoring
 * above the lowest score read is then in hand, and when at least `count` of them are, they are the
 * answer. Otherwise the hits tied at that lowest score may go on past what was read, and a second
 * read fetches the first of them in key order (it scans the rest of the index's hits, comparing
 * scores only). Hits of equal score are common (scores depend on term counts and a coarse length
 * norm), and this keeps the page exact without sorting every hit the way `ORDER BY score, key`
 * would.
 */
export async function firstHits<T extends ScoredHit>(reader: HitReader<T>, count: number): Promise<T[]> {
  if (count <= 0) return [];
  const limit = Math.max(2 * count, 20);
  const read = await reader.stream(limit);
  const ordered = [...read].sort(compareHits);
  if (read.length < limit) return ordered.slice(0, count);
  const lowest = Math.min(...read.map((hit) => hit.score));
  const above = ordered.filter((hit) => hit.score > lowest);
  if (above.length >= count) return above.slice(0, count);
  const ties = await reader.ties(lowest, count - above.length);
  return [...above, ...ties];
}
