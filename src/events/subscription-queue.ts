import { GraphQLError } from "graphql";
import type { PubSubEngineLike } from "../infra/redis";

export interface SubscriptionQueueOptions {
  /**
   * Most undelivered events held for one subscriber. A subscriber that falls further behind is
   * ended with a SLOW_SUBSCRIBER error rather than growing memory without bound.
   * @default 10000
   */
  maxBuffer?: number;
  /** Called when the subscription ends, however it ends. */
  onEnd?: () => void;
}

/**
 * Subscribes to a channel and returns an async iterator over its messages. Resolves only once the
 * subscription is live on the engine (for Redis: SUBSCRIBE acknowledged), so every message
 * published after that is delivered.
 */
export async function subscribeQueue<T>(
  engine: PubSubEngineLike,
  channel: string,
  options: SubscriptionQueueOptions = {},
): Promise<AsyncIterableIterator<T>> {
  const maxBuffer = options.maxBuffer ?? 10000;
  const buffer: T[] = [];
  const waiting: ((result: IteratorResult<T>) => void)[] = [];
  let failure: GraphQLError | undefined;
  let done = false;

  const subId = await engine.subscribe(channel, (message: T) => {
    if (done) return;
    const waiter = waiting.shift();
    if (waiter) return waiter({ value: message, done: false });
    buffer.push(message);
    if (buffer.length > maxBuffer) {
      failure = new GraphQLError(`Subscriber fell more than ${maxBuffer} events behind; resubscribe to catch up`, {
        extensions: { code: "SLOW_SUBSCRIBER" },
      });
      buffer.length = 0;
      void end();
    }
  });

  async function end(): Promise<IteratorResult<T>> {
    if (!done) {
      done = true;
      engine.unsubscribe(subId);
      for (const waiter of waiting.splice(0)) waiter({ value: undefined, done: true });
      options.onEnd?.();
    }
    return { value: undefined, done: true };
  }

  const iterator: AsyncIterableIterator<T> = {
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (failure) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => waiting.push(resolve));
    },
    return: end,
    throw: async (error) => {
      await end();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
