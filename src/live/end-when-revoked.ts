/** How often an open subscription re-checks that its caller may still read the workflow. */
export const ACCESS_RECHECK_MS = 2000;

/**
 * Ends `source` (the client sees the subscription complete) once `mayRead` answers false: it is
 * asked every `intervalMs` while the stream is open, so a revoked grant ends the caller's open
 * subscriptions to the workflow within that time. An error from `mayRead` (say, Neo4j briefly
 * unreachable) keeps the stream open until the next check: only a definite "no" ends it.
 */
export function endWhenRevoked<T>(
  source: AsyncIterableIterator<T>,
  mayRead: () => Promise<boolean>,
  intervalMs = ACCESS_RECHECK_MS,
): AsyncIterableIterator<T> {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    void source.return?.();
  };
  const timer = setInterval(() => {
    mayRead().then(
      (allowed) => {
        if (!allowed) end();
      },
      () => undefined,
    );
  }, intervalMs);
  timer.unref();
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      if (ended) return { value: undefined, done: true };
      const result = await source.next();
      // Nothing buffered before the revocation was noticed is delivered after it.
      return ended ? { value: undefined, done: true } : result;
    },
    async return() {
      end();
      return { value: undefined, done: true };
    },
    async throw(error) {
      end();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
