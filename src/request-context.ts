import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The request an async call chain is serving: set where a request enters (an HTTP request, a
 * WebSocket operation, an SSE stream) and read where it is useful without passing it through every
 * signature: the logger stamps `requestId` on each line, the error formatter puts it in
 * `extensions.requestId`, the event bus on each published event.
 */
export interface RequestScope {
  /** The request's id: the client's `X-Request-Id` when sane, else generated (see src/server/request-id.ts). */
  requestId: string;
  /**
   * The bookmark of the newest write transaction the request committed (see
   * src/infra/bookmarks.ts): the event bus stamps it on the events the request publishes.
   */
  bookmark?: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` (and everything it starts) as part of the request `scope`. */
export function runInRequest<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The id of the request the current call chain serves, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** The scope of the request the current call chain serves, if any. */
export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}
