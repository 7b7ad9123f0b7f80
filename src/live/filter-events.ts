/** The events of `source` for which `keep` holds; ending the result ends the source. */
export function filterEvents<T>(
  source: AsyncIterableIterator<T>,
  keep: (event: T) => boolean,
): AsyncIterableIterator<T> {
  const filtered: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        const result = await source.next();
        if (result.done || keep(result.value)) return result;
      }
    },
    return: () => source.return?.() ?? Promise.resolve({ value: undefined, done: true }),
    throw: (error) => source.throw?.(error) ?? Promise.reject(error),
    [Symbol.asyncIterator]: () => filtered,
  };
  return filtered;
}
