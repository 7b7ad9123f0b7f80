import { ACCESS_RECHECK_MS } from "./visible-events";

/**
 * Reads of a workflow's access state shared by every subscriber on this instance: one read per
 * watched workflow per interval, however many subscribers it has (with 1,000 subscribers, one read
 * every 2 s instead of 500 a second), and one read, not one per subscriber, when a change makes
 * them all look again. Each subscriber decides in memory what the state lets it see.
 */
export interface SharedAccess<S extends { seq: number }> {
  /** The workflow's state as of at least `seq`: the last read if recent enough, else a read shared by all who ask. */
  atLeast(workflowId: string, seq: number): Promise<S>;
  /**
   * Calls `onState` with each periodic read of the workflow's state while watched. A failed read is
   * skipped (the next one decides). @returns the function that stops watching.
   */
  watch(workflowId: string, onState: (state: S) => void): () => void;
  /** How many workflows are watched (for tests and diagnostics). */
  readonly watched: number;
}

export function createSharedAccess<S extends { seq: number }>(
  read: (workflowId: string) => Promise<S>,
  intervalMs = ACCESS_RECHECK_MS,
): SharedAccess<S> {
  const last = new Map<string, S>();
  const inFlight = new Map<string, Promise<S>>();
  const watchers = new Map<string, { timer: NodeJS.Timeout; listeners: Set<(state: S) => void> }>();

  function fresh(workflowId: string): Promise<S> {
    let pending = inFlight.get(workflowId);
    if (!pending) {
      pending = read(workflowId).then(
        (state) => {
          inFlight.delete(workflowId);
          if (watchers.has(workflowId)) last.set(workflowId, state);
          return state;
        },
        (error: unknown) => {
          inFlight.delete(workflowId);
          throw error;
        },
      );
      inFlight.set(workflowId, pending);
    }
    return pending;
  }

  return {
    async atLeast(workflowId, seq) {
      const known = last.get(workflowId);
      if (known && known.seq >= seq) return known;
      // A read already in flight may have started before `seq` committed: then read again.
      const shared = await fresh(workflowId);
      return shared.seq >= seq ? shared : fresh(workflowId);
    },
    watch(workflowId, onState) {
      let entry = watchers.get(workflowId);
      if (!entry) {
        const listeners = new Set<(state: S) => void>();
        const timer = setInterval(() => {
          fresh(workflowId).then(
            (state) => {
              for (const listener of [...listeners]) listener(state);
            },
            () => undefined,
          );
        }, intervalMs);
        timer.unref();
        entry = { timer, listeners };
        watchers.set(workflowId, entry);
      }
      const { listeners } = entry;
      listeners.add(onState);
      return () => {
        listeners.delete(onState);
        const current = watchers.get(workflowId);
        if (current && current.listeners.size === 0) {
          clearInterval(current.timer);
          watchers.delete(workflowId);
          last.delete(workflowId);
        }
      };
    },
    get watched() {
      return watchers.size;
    },
  };
}
