import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";
import { runInRequest } from "../request-context";

/** The header a client may name its request with, and in which every response names it. */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * A client's id is kept when it is a short token of safe characters (letters, digits, `_ . : -`,
 * at most 128): anything else (too long, spaces, newlines, other bytes) could forge or break a log
 * line or a header, and is replaced by a generated one.
 */
const SANE_ID = /^[\w.:-]{1,128}$/;

/** The client's id when it is sane (see SANE_ID), else undefined. */
export function saneRequestId(given: unknown): string | undefined {
  return typeof given === "string" && SANE_ID.test(given) ? given : undefined;
}

const ids = new WeakMap<IncomingMessage, string>();

/**
 * The id of an HTTP request (or of a WebSocket's upgrade request: the connection's id), decided
 * once: its sane `X-Request-Id`, else a generated UUID. Every later reader (the response header,
 * the audit trail, the logs, the events it publishes) gets the same one.
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = ids.get(req);
  if (id === undefined) {
    id = saneRequestId(req.headers[REQUEST_ID_HEADER]) ?? randomUUID();
    ids.set(req, id);
  }
  return id;
}

/**
 * Names the request in its `X-Request-Id` response header and runs the rest of its handling in its
 * request scope (log lines, error extensions and published events carry the id).
 */
export const requestIdMiddleware: RequestHandler = (req, res, next) => {
  const requestId = requestIdOf(req);
  res.setHeader(REQUEST_ID_HEADER, requestId);
  runInRequest({ requestId }, next);
};

/**
 * Enters the request's scope again: a body parser reads the body in the socket's callbacks, which
 * do not carry the scope of the middleware before it. Placed after each body parser.
 */
export const requestScope: RequestHandler = (req, _res, next) => {
  runInRequest({ requestId: requestIdOf(req) }, next);
};

/**
 * An async iterator whose steps run in the request's scope: a subscription's events are pulled by
 * the transport's own loop, outside the scope the subscription started in.
 */
export function inRequestScope<T>(requestId: string, source: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  const scope = { requestId };
  const iterator: AsyncIterableIterator<T> = {
    next: () => runInRequest(scope, () => source.next()),
    return: () => runInRequest(scope, () => source.return?.() ?? Promise.resolve({ value: undefined, done: true })),
    throw: (error) => runInRequest(scope, () => source.throw?.(error) ?? Promise.reject(error)),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
