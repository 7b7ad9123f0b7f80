import {
  createSourceEventStream,
  type DocumentNode,
  execute,
  print,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from "graphql";

const TTL_MS = 5000;

/** Names an event of a subscription's source stream: equal keys are the same event. */
export type EventKeyOf = (event: unknown) => string;

/**
 * Names the part of the caller's visibility that decides an operation's result for one event, when
 * that is less than its whole scope: callers with equal answers share one result. Undefined: the
 * whole scope (`context.access.key`) decides.
 */
export type EventScopeOf = (args: ExecutionArgs, event: unknown) => string | undefined;

/** What a shared subscribe has done (for tests and diagnostics). */
export interface SharedSubscribeStats {
  /** Events executed: one per distinct operation, event and scope, however many subscribers share it. */
  executions: number;
}

/**
 * Creates graphql-js's `subscribe`, except that each event's result is computed once per distinct
 * operation (query text, operation name and variables) and visibility scope, and shared by every
 * subscriber on this instance that sent the same operation with the same scope: with 1,000
 * subscribers watching one workflow, an event is executed once per scope, not 1,000 times. The
 * scope is `scopeOf`'s class of the caller for the event when it gives one (1,000 users who see the
 * event alike share one execution), else the caller's whole scope (`context.access.key`). Results
 * depend only on the event, the operation and what the caller may see, so sharing them is exact.
 * `onDelivered` is called with each event as its result goes to the transport.
 */
export function createSharedSubscribe(
  keyOf: EventKeyOf,
  onDelivered?: (event: unknown) => void,
  scopeOf?: EventScopeOf,
): ((args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>) & {
  readonly stats: SharedSubscribeStats;
} {
  const stats: SharedSubscribeStats = { executions: 0 };
  const subscribe = (args: ExecutionArgs) => sharedSubscribe(args, keyOf, onDelivered, scopeOf, stats);
  return Object.assign(subscribe, { stats });
}

async function sharedSubscribe(
  args: ExecutionArgs,
  keyOf: EventKeyOf,
  onDelivered: ((event: unknown) => void) | undefined,
  scopeOf: EventScopeOf | undefined,
  stats: SharedSubscribeStats,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source as ExecutionResult;
  // The caller's visibility scope is part of the key: results are filtered by what the caller may
  // see, so they are shared only between callers who see the same things. It is read at each event:
  // what a caller sees can change while its subscription runs (a grant, a restricted branch). A
  // class from `scopeOf` never collides with a scope key: it starts with `event:`.
  const context = args.contextValue as { access?: { key?: string } } | undefined;
  if (context?.access?.key === undefined) throw new Error("shared subscribe needs context.access.key");
  const { id: operation, release } = holdOperation(args);
  const events = source[Symbol.asyncIterator]();
  // Not an async generator: a generator's return() waits until its pending next() settles, which
  // for a quiet workflow is never, and the stream would stay subscribed after its client left.
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const next = await events.next().catch((error: unknown) => {
        release();
        throw error;
      });
      if (next.done) {
        release();
        return { value: undefined, done: true };
      }
      const event = next.value;
      const scope = scopeOf?.(args, event) ?? context.access!.key!;
      let computed = false;
      const run = () => {
        stats.executions += 1;
        return execute({ ...args, rootValue: event });
      };
      let value = await resultFor(args.schema, keyOf(event), scope, operation, () => {
        computed = true;
        return run();
      });
      // Errors are not shared (see resultFor), and may be another caller's own (a grant it lost a
      // moment ago): a subscriber that was handed one computed for someone else computes its own.
      if (value.errors?.length && !computed) value = await run();
      // Handed to the transport, which sends it next (for the delivery metrics).
      onDelivered?.(event);
      return { value, done: false };
    },
    async return() {
      release();
      await events.return?.();
      return { value: undefined, done: true };
    },
    async throw(error) {
      release();
      await events.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => results,
  };
  return results;
}

/**
 * A short id for each distinct operation (its printed document, operation name and variables), so
 * that a subscription holds a number rather than its own copy of the text, and a result is looked
 * up per event by a short key. Subscribers of the same operation share its document (see
 * checked-operations.ts), so its text is printed once.
 */
const printed = new WeakMap<DocumentNode, string>();
const operations = new Map<string, { id: number; users: number; key: string }>();
let lastOperationId = 0;

/** The operation's id, held until `release()` (when its last subscription ends, the entry goes). */
function holdOperation(args: ExecutionArgs): { id: number; release(): void } {
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  const operation = `${text}|${args.operationName ?? ""}|${JSON.stringify(args.variableValues ?? {})}`;
  let entry = operations.get(operation);
  if (!entry) operations.set(operation, (entry = { id: ++lastOperationId, users: 0, key: operation }));
  entry.users += 1;
  // Only the entry is held, and the map's own key with it: this subscription's copy of the text
  // (flattened by the lookup) is garbage once this returns.
  const held = entry;
  let released = false;
  return {
    id: held.id,
    release() {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users === 0 && operations.get(held.key) === held) operations.delete(held.key);
    },
  };
}

/** One cache per schema (per app instance). */
const caches = new WeakMap<GraphQLSchema, Map<string, Promise<ExecutionResult>>>();

function resultFor(
  schema: GraphQLSchema,
  eventKey: string,
  scope: string,
  operation: number,
  run: () => ExecutionResult | Promise<ExecutionResult>,
): Promise<ExecutionResult> {
  let cache = caches.get(schema);
  if (!cache) caches.set(schema, (cache = new Map()));
  const key = `${operation}|${eventKey}|${scope}`;
  let result = cache.get(key);
  if (!result) {
    const entries = cache;
    const computed = Promise.resolve(run());
    result = computed;
    entries.set(key, computed);
    const timer = setTimeout(() => entries.delete(key), TTL_MS);
    timer.unref();
    // Only successes are shared: a result with errors (say, read during a Neo4j outage) is
    // forgotten at once, so the next subscriber computes it afresh.
    void computed.then(
      (value) => {
        if (value.errors?.length) forget();
      },
      () => forget(),
    );
    function forget() {
      clearTimeout(timer);
      if (entries.get(key) === computed) entries.delete(key);
    }
  }
  return result;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
