/**
 * The fragment of a hit's text that shows why it matched, computed here from the text and the
 * query's terms (Neo4j's full-text procedures return no highlights). Pure: no I/O.
 */

/** The marks around each matching word in a highlight. */
export const MARK_OPEN = "«";
export const MARK_CLOSE = "»";
/** Characters of text a highlight shows around its first match (before marks and ellipses). */
export const FRAGMENT_LENGTH = 160;

/** Tests one lower-cased word of the text. */
export type TermMatcher = (word: string) => boolean;

/** Words as Lucene's standard tokenizer finds them (close enough to mark them): letters, digits, `_`. */
const WORD = /[\p{L}\p{N}_]+(?:['’.][\p{L}\p{N}_]+)*/gu;

/**
 * The positive terms of a Lucene query (terms after NOT or `-`, and ranges, are left out), as
 * matchers: plain terms and phrase words match a word exactly, `pre*` and `w?ld*card` as wildcards,
 * `term~` and `term~1` by edit distance (2 unless given), all case-insensitively.
 */
export function queryTerms(query: string): TermMatcher[] {
  const matchers: TermMatcher[] = [];
  // Ranges ([a TO b], {a TO b}) mark nothing; regexps (/…/) neither.
  const text = query.replace(/[[{][^\]}]*[\]}]/g, " ").replace(/\/(?:\\.|[^/])*\//g, " ");
  const token =
    /(?:(-|!|\bNOT\b)\s*)?(?:[\w.]+:)?(?:"((?:\\.|[^"])*)"(?:~\d+)?|((?:\\.|[^\s()"^~:+\-!&|\\])(?:\\.|[^\s()"^~:&|\\])*)(~(\d*(?:\.\d+)?))?)/g;
  for (const m of text.matchAll(token)) {
    if (m[1]) continue;
    if (m[2] !== undefined) {
      for (const word of m[2].toLowerCase().match(WORD) ?? []) matchers.push((w) => w === word);
      continue;
    }
    const raw = m[3].replace(/\\(.)/g, "$1");
    if (/^(AND|OR|NOT|TO)$/.test(raw)) continue;
    const term = raw.toLowerCase();
    if (m[4] !== undefined) {
      const given = Number(m[5]);
      const distance = m[5] && given >= 1 ? Math.floor(given) : 2;
      matchers.push((w) => editDistance(w, term, distance) <= distance);
    } else if (/[*?]/.test(term)) {
      const pattern = new RegExp(
        `^${term
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, ".*")
          .replace(/\?/g, ".")}$`,
        "u",
      );
      matchers.push((w) => pattern.test(w));
    } else {
      // A term the analyzer would split (`a-b`, `x.y`) matches each of its words.
      for (const word of term.match(WORD) ?? []) matchers.push((w) => w === word);
    }
  }
  return matchers;
}

/**
 * The fragment of `text` around its first matching word, every match in it marked
 * {@link MARK_OPEN}…{@link MARK_CLOSE}, with `…` where the text was cut; null when no word matches.
 */
export function highlight(text: string | null | undefined, matchers: readonly TermMatcher[]): string | null {
  if (!text || matchers.length === 0) return null;
  const hits: { start: number; end: number }[] = [];
  for (const m of text.matchAll(WORD)) {
    const word = m[0].toLowerCase();
    if (matchers.some((match) => match(word))) hits.push({ start: m.index, end: m.index + m[0].length });
  }
  if (hits.length === 0) return null;
  const first = hits[0];
  let start = Math.max(0, first.start - Math.floor(FRAGMENT_LENGTH / 3));
  let end = Math.min(text.length, Math.max(start + FRAGMENT_LENGTH, first.end));
  // Whole words at the edges.
  while (start > 0 && /\S/.test(text[start - 1]) && first.start - start < FRAGMENT_LENGTH / 2) start--;
  while (end < text.length && /\S/.test(text[end]) && end - first.end < FRAGMENT_LENGTH) end++;
  let out = start > 0 ? "…" : "";
  let at = start;
  for (const hit of hits) {
    if (hit.start < start || hit.end > end) continue;
    out += text.slice(at, hit.start) + MARK_OPEN + text.slice(hit.start, hit.end) + MARK_CLOSE;
    at = hit.end;
  }
  out += text.slice(at, end) + (end < text.length ? "…" : "");
  return out;
}

/** Levenshtein distance, giving up (returning `max + 1`) once it must exceed `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, current[j]);
    }
    if (best > max) return max + 1;
    previous = current;
  }
  return previous[b.length];
}
