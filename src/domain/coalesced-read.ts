/**
 * A read by key that callers asking at the same moment share, without any of them getting an
 * answer older than its own call: the first caller starts a read; callers who arrive while it runs
 * wait for it to end and share the one read that starts then. With 1,000 subscribers opening on
 * one workflow at once, that is a few reads of its grants or last seq instead of 1,000, and each
 * answer is still as fresh as a read of its own (it started after the call).
 */
export function createCoalescedRead<V>(read: (key: string) => Promise<V>): (key: string) => Promise<V> {
  const states = new Map<string, { running?: Promise<V>; queued?: Promise<V> }>();

  function start(key: string, state: { running?: Promise<V>; queued?: Promise<V> }): Promise<V> {
    const running = read(key);
    state.running = running;
    const settle = () => {
      if (state.running === running) state.running = undefined;
      if (!state.running && !state.queued && states.get(key) === state) states.delete(key);
    };
    running.then(settle, settle);
    return running;
  }

  return (key) => {
    let state = states.get(key);
    if (!state) states.set(key, (state = {}));
    const running = state.running;
    if (!running) return start(key, state);
    let queued = state.queued;
    if (!queued) {
      const waiting = state;
      // Started only once the running read has ended: it began before this call.
      queued = running
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => {
          waiting.queued = undefined;
          return start(key, waiting);
        });
      waiting.queued = queued;
    }
    return queued;
  };
}
