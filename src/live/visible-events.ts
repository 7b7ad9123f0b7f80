/** How often an open subscription looks up again what its caller may see (grants, restrictions). */
export const ACCESS_RECHECK_MS = 2000;

/** How a stream keeps to what its caller may see while it runs. */
export interface VisibilityWatch<T> {
  /**
   * Looks up again what the caller may see (and updates what `visible` reads).
   * @returns false once the caller may no longer read the workflow at all.
   */
  refresh(): Promise<boolean>;
  /** Whether the caller may see the event, as far as the last lookup knows. */
  visible(event: T): boolean;
  /** True for an event that changes what the caller may see: the lookup runs again before it is judged. */
  changesVisibility(event: T): boolean;
  /** @default ACCESS_RECHECK_MS */
  intervalMs?: number;
}

/**
 * The events of `source` the caller may see, in order. An event that changes visibility (a branch
 * restricted or opened) makes the stream look up the caller's view before that event and any later
 * one is judged, so nothing of a branch restricted at seq N is delivered after N. Grants are looked
 * up again every `intervalMs`: once the caller may no longer read the workflow (a revoked grant) the
 * stream ends (the client sees the subscription complete). A failed periodic lookup (say, Neo4j
 * briefly unreachable) keeps the stream open until the next one: only a definite "no" ends it; a
 * failed lookup before a visibility change ends the stream with that error (the client resumes).
 */
export function watchVisibility<T>(
  source: AsyncIterableIterator<T>,
  watch: VisibilityWatch<T>,
): AsyncIterableIterator<T> {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    void source.return?.();
  };
  const timer = setInterval(() => {
    watch.refresh().then(
      (allowed) => {
        if (!allowed) end();
      },
      () => undefined,
    );
  }, watch.intervalMs ?? ACCESS_RECHECK_MS);
  timer.unref();
  const done = (): IteratorResult<T> => ({ value: undefined, done: true });
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        if (ended) return done();
        const result = await source.next();
        // Nothing buffered before the revocation was noticed is delivered after it.
        if (result.done || ended) return ended ? done() : result;
        if (watch.changesVisibility(result.value) && !(await watch.refresh())) {
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
