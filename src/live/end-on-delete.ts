import type { WorkflowEventMessage } from "../domain/workflow-event";

/**
 * A workflow's live stream that ends with its WORKFLOW_DELETED event: the event is delivered (it is
 * the subscriber's last word on the workflow) and the stream then completes, closing `source`.
 * A WORKFLOW_DELETED that a restore has since undone (caught up from the log by a stream that
 * resumes from before it) passes like any event: `isCurrent(seq)` tells the two apart, and says
 * true when the workflow is gone altogether.
 */
export function endOnDelete<T extends Pick<WorkflowEventMessage, "kind" | "seq">>(
  source: AsyncIterableIterator<T>,
  isCurrent: (seq: number) => Promise<boolean>,
): AsyncIterableIterator<T> {
  let ended = false;
  const done = (): IteratorResult<T> => ({ value: undefined, done: true });
  const end = async () => {
    if (ended) return;
    ended = true;
    await source.return?.();
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      if (ended) return done();
      const result = await source.next();
      if (result.done) {
        ended = true;
        return result;
      }
      if (result.value.kind === "WORKFLOW_DELETED" && (await isCurrent(result.value.seq))) await end();
      return result;
    },
    async return() {
      await end();
      return done();
    },
    async throw(error) {
      await end();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
