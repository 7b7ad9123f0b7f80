/** How often an open subscription re-checks that its caller may still read the workflow. */
export const ACCESS_RECHECK_MS = 2000;

/**
 * Ends `source` (the client sees the subscription complete) once `watch` calls the `end` it is
 * given; `watch` returns the function that stops watching (called once the stream ends, however it
 * ends). Nothing the source buffered before the end is delivered after it.
 */
export function endWhen<T>(
  source: AsyncIterableIterator<T>,
  watch: (end: () => void) => () => void,
): AsyncIterableIterator<T> {
  let ended = false;
  // Set once watching has started; `end` may be called before that (by `watch` itself).
  const watching = { stop: () => undefined as void };
  const end = () => {
    if (ended) return;
    ended = true;
    watching.stop();
    void source.return?.();
  };
  watching.stop = watch(end);
  if (ended) watching.stop();
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

/**
 * Re-checks the access of every open subscription on this instance with one read per watched
 * workflow per interval, instead of one per subscription: a workflow's grants are the same for all
 * its subscribers, and each subscriber decides in memory, against its own scope, whether they still
 * let it read. With 1,000 subscribers on one workflow that is one read every `intervalMs`, not
 * 1,000 (which at 2 s is 500 reads a second, and took Neo4j's connection pool).
 */
export interface AccessRecheck<Grants> {
  /**
   * Ends `source` once `allowed` answers false for the workflow's grants as read at one of the
   * checks (every `intervalMs` while the stream is open; revocation is noticed within that time).
   * A failed read keeps the stream open until the next check: only a definite "no" ends it.
   */
  endWhenRevoked<T>(
    source: AsyncIterableIterator<T>,
    workflowId: string,
    allowed: (grants: Grants) => boolean,
  ): AsyncIterableIterator<T>;
  /** How many workflows are being watched (for tests and diagnostics). */
  readonly watched: number;
}

export function createAccessRecheck<Grants>(
  readGrants: (workflowId: string) => Promise<Grants>,
  intervalMs = ACCESS_RECHECK_MS,
): AccessRecheck<Grants> {
  const workflows = new Map<string, { timer: NodeJS.Timeout; checks: Set<(grants: Grants) => void> }>();

  function watch(workflowId: string, check: (grants: Grants) => void): () => void {
    let entry = workflows.get(workflowId);
    if (!entry) {
      const checks = new Set<(grants: Grants) => void>();
      const timer = setInterval(() => {
        readGrants(workflowId).then(
          (grants) => {
            for (const each of [...checks]) each(grants);
          },
          () => undefined,
        );
      }, intervalMs);
      timer.unref();
      entry = { timer, checks };
      workflows.set(workflowId, entry);
    }
    const { checks } = entry;
    checks.add(check);
    return () => {
      checks.delete(check);
      const current = workflows.get(workflowId);
      if (current && current.checks.size === 0) {
        clearInterval(current.timer);
        workflows.delete(workflowId);
      }
    };
  }

  return {
    endWhenRevoked: (source, workflowId, allowed) =>
      endWhen(source, (end) =>
        watch(workflowId, (grants) => {
          if (!allowed(grants)) end();
        }),
      ),
    get watched() {
      return workflows.size;
    },
  };
}
