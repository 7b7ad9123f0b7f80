/** How often an open subscription looks up again what its caller may see (grants, restrictions). */
export const ACCESS_RECHECK_MS = 2000;

/** How a stream keeps to what its caller may see while it runs. */
export interface VisibilityWatch<T> {
  /**
   * Brings what `visible` reads up to date with the workflow as of at least `seq`.
   * @returns false once the caller may no longer read the workflow at all.
   */
  refresh(seq: number): Promise<boolean>;
  /** Whether the caller may see the event, as far as the last lookup knows. */
  visible(event: T): boolean;
  /** True for an event that changes what the caller may see: the lookup runs again before it is judged. */
  changesVisibility(event: T): boolean;
  /**
   * Starts the periodic checks (grants may change without an event): calls `revoked` once the
   * caller may no longer read the workflow. @returns the function that stops them.
   */
  watch(revoked: () => void): () => void;
}

/**
 * The events of `source` the caller may see, in order. An event that changes visibility (a branch
 * restricted or opened) makes the stream look up the caller's view before that event and any later
 * one is judged, so nothing of a branch restricted at seq N is delivered after N. Grants are looked
 * up again periodically (`watch`): once the caller may no longer read the workflow (a revoked
 * grant) the stream ends (the client sees the subscription complete). A failed lookup before a
 * visibility change ends the stream with that error (the client resumes with afterSeq).
 */
export function watchVisibility<T extends { seq: number }>(
  source: AsyncIterableIterator<T>,
  watch: VisibilityWatch<T>,
): AsyncIterableIterator<T> {
  let ended = false;
  const watching = { stop: () => undefined as void };
  const end = () => {
    if (ended) return;
    ended = true;
    watching.stop();
    void source.return?.();
  };
  watching.stop = watch.watch(end);
  if (ended) watching.stop();
  const done = (): IteratorResult<T> => ({ value: undefined, done: true });
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        if (ended) return done();
        const result = await source.next();
        // Nothing buffered before the revocation was noticed is delivered after it.
        if (result.done || ended) return ended ? done() : result;
        if (watch.changesVisibility(result.value) && !(await watch.refresh(result.value.seq))) {
          end();
          return done();
        }
        if (watch.visible(result.value)) return result;
      }
    },
    async return() {
      end();
      return done();
    },
    async throw(error) {
      end();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
