import type { IncomingMessage } from "node:http";
import type { Request, RequestHandler, Response } from "express";
import { GraphQLError, type ExecutionResult } from "graphql";
import { createHandler } from "graphql-sse/lib/use/express";
import type { Authenticator } from "../auth/authenticator";
import { checkOperation, operationTypeOf } from "../auth/operation-gate";
import type { Principal } from "../auth/principal";
import { appError, rateLimited, type ErrorCode } from "../errors";
import type { AppContext } from "../graphql/context";
import { runInRequest } from "../request-context";
import type { OperationRecorder } from "./metrics";
import type { OperationPipeline } from "./operation-pipeline";
import { requestIdOf } from "./request-id";
import { clientIp, createConnectionCounter, rateKey, type OperationLimiter } from "./rate-limit";

/** The query parameter that may carry the token of a GET stream (RFC 6750 §2.3): EventSource cannot send headers. */
export const ACCESS_TOKEN_PARAM = "access_token";

/** Bytes a stream's response may hold unsent before it stops taking events (they wait in its bounded buffer). */
const HIGH_WATER_BYTES = 64 * 1024;

const STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SERVICE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  BAD_REQUEST: 400,
};

export interface SseOptions {
  pipeline: OperationPipeline;
  context: (principal: Principal, request?: AppContext["request"]) => Promise<AppContext>;
  /** Called when the role gate refuses an operation (for the audit trail). */
  onRefused?: (
    principal: Principal,
    request: AppContext["request"] | undefined,
    payload: { query: string; operationName?: string | null; variables?: unknown },
  ) => Promise<void>;
  /** The request's id and client address (for the audit trail). */
  requestOf?: (req: IncomingMessage) => AppContext["request"];
  authenticator: Authenticator;
  limiter: OperationLimiter;
  /** Whether a request with this `Origin` (and `Host`) may open a stream; others get HTTP 403. */
  allowOrigin: (origin: string | undefined, host: string | undefined) => boolean;
  /** Open streams per principal (or client IP); 0: no cap. */
  maxStreamsPerPrincipal: number;
  trustProxyHops: number;
  /** Records each operation for /metrics. */
  recorder?: OperationRecorder;
}

/**
 * GraphQL over Server-Sent Events (graphql-sse, distinct connections mode): one operation per
 * request, GET (operation in the query string, so a plain `EventSource` can follow a workflow) or
 * POST (JSON body), with `Accept: text/event-stream`. Each result is a `next` event; the stream
 * ends with `complete`.
 *
 * The same as graphql-ws on /graphql: the caller is authenticated from `Authorization: Bearer`
 * (or, on GET only, the `access_token` query parameter, for EventSource); then the role gate, the
 * per-minute rate limit, and the operation pipeline (validation, shape and cost limits, the shared
 * subscription execution, error formatting). A stream is held only while its client reads: past
 * a small amount unsent, events wait in the subscription's bounded buffer, and a client that falls
 * further behind has its response cut (SLOW_SUBSCRIBER; reconnect with `afterSeq`). A stream
 * ends when its token expires.
 */
export interface SseHandler {
  handle: RequestHandler;
  /** Ends every open stream (at shutdown: the clients reconnect, to another instance). */
  close(): void;
  /** Open streams (for /metrics). */
  openStreams(): number;
}

export function createSseHandler(options: SseOptions): SseHandler {
  const streams = createConnectionCounter(options.maxStreamsPerPrincipal);
  const open = new Set<Response>();
  const principals = new WeakMap<IncomingMessage, Principal>();
  // Formatted errors as a result graphql-sse sends as a `next` event (then `complete`). graphql-sse
  // tells a result from execution arguments by its `data` key; undefined leaves it out of the JSON.
  // Each stream is one request and one operation: the request's id names both (see request-id.ts).
  const started = new WeakMap<IncomingMessage, number>();
  const refusedFor =
    (raw: Request, params: { query: string; operationName?: string | null }) => (errors: readonly unknown[]) => {
      const operation = options.recorder?.describe(params.query, params.operationName);
      options.recorder?.record("sse", { ...operation, requestId: requestIdOf(raw) }, started.get(raw) ?? 0, errors);
      return runInRequest(
        { requestId: requestIdOf(raw) },
        () => ({ data: undefined, errors: options.pipeline.formatErrors(errors) }) as unknown as ExecutionResult,
      );
    };
  const handler = createHandler<Record<PropertyKey, unknown>>({
    // Distinct connections only: no reservations (single connection mode) to track.
    authenticate: () => null,
    // The shared subscription execution and the undeclared-variable check, as on graphql-ws.
    execute: options.pipeline.execute,
    subscribe: options.pipeline.subscribe as never,
    async onSubscribe(req, params) {
      const raw = req.raw as Request;
      started.set(raw, performance.now());
      const refused = refusedFor(raw, params);
      const principal = principals.get(raw)!;
      const denied = checkOperation(principal, operationTypeOf(params.query, params.operationName));
      if (denied) {
        await options.onRefused?.(principal, options.requestOf?.(raw), params);
        return refused([denied]);
      }
      const decision = await options.limiter.consume(rateKey(principal, ipOf(raw, options.trustProxyHops)));
      if (!decision.allowed) {
        const limited = rateLimited(
          `Too many operations; retry in ${decision.retryAfterSeconds} s`,
          decision.retryAfterSeconds,
        );
        return refused([limited]);
      }
      const checked = options.pipeline.check({
        query: params.query,
        variables: params.variables ?? null,
        operationName: params.operationName ?? null,
      });
      if (Array.isArray(checked)) return refused(checked);
      const res = req.context.res;
      const context: AppContext = {
        ...(await options.context(principal, options.requestOf?.(raw))),
        // The response is cut: the client (EventSource, graphql-sse) reconnects and resumes.
        closeSlowSubscriber: () => res.destroy(),
      };
      return { ...checked, contextValue: context as unknown as Record<PropertyKey, unknown> };
    },
    // Errors a stream throws after it started (a slow subscriber, a revoked grant) end it with a
    // last `next` carrying the formatted error, as graphql-ws's `error` message does.
    onOperation: (_ctx, req, args, result) => {
      const raw = req.raw as Request;
      const operation = options.recorder?.describe(args.document, args.operationName);
      const errors = isAsyncIterable(result) ? undefined : (result as ExecutionResult).errors;
      options.recorder?.record("sse", { ...operation, requestId: requestIdOf(raw) }, started.get(raw) ?? 0, errors);
      return isAsyncIterable(result) ? endWithErrors(result, options.pipeline, requestIdOf(raw)) : undefined;
    },
    async onNext(_ctx, req, result) {
      await drained(req.context.res);
      if (!("errors" in result && result.errors)) return result;
      return runInRequest({ requestId: requestIdOf(req.raw as Request) }, () =>
        options.pipeline.formatResult(result as ExecutionResult),
      );
    },
  });

  const handle: RequestHandler = (req, res, next) => {
    if (!wantsEventStream(req)) return next();
    if (!options.allowOrigin(req.headers.origin, req.headers.host)) {
      return refuse(res, appError("FORBIDDEN", "Origin not allowed"), options.pipeline);
    }
    const token =
      req.headers.authorization ??
      (req.method === "GET" && typeof req.query[ACCESS_TOKEN_PARAM] === "string"
        ? `Bearer ${req.query[ACCESS_TOKEN_PARAM]}`
        : undefined);
    options.authenticator.authenticate(token).then(
      (principal) => {
        const key = rateKey(principal, ipOf(req, options.trustProxyHops));
        if (!streams.acquire(key)) {
          return refuse(res, rateLimited("Too many open streams; close one first"), options.pipeline);
        }
        open.add(res);
        res.once("close", () => {
          open.delete(res);
          streams.release(key);
        });
        principals.set(req, principal);
        const end = options.authenticator.sessionEnd(principal);
        if (end !== null) {
          // setTimeout's longest delay is ~24.8 days: a token that outlives it is cut then, and
          // the client reconnects with it.
          const timer = setTimeout(() => res.end(), Math.min(Math.max(0, end - Date.now()), 2 ** 31 - 1));
          timer.unref();
          res.once("close", () => clearTimeout(timer));
        }
        // graphql-sse recognises the event-stream request by this exact Accept value.
        req.headers.accept = "text/event-stream";
        return handler(req, res).catch(next);
      },
      (error: unknown) => {
        if (error instanceof GraphQLError) return refuse(res, error, options.pipeline);
        next(error);
      },
    );
  };
  return {
    handle,
    close() {
      for (const res of open) res.end();
    },
    openStreams: () => open.size,
  };
}

/**
 * A GET or POST that prefers an event stream: `Accept: text/event-stream` ranked above JSON (as
 * EventSource and graphql-sse send it). urql lists text/event-stream after the JSON types in every
 * request; those stay plain GraphQL over HTTP.
 */
export function wantsEventStream(req: Request): boolean {
  if (req.method !== "GET" && req.method !== "POST") return false;
  return (
    req.accepts(["application/graphql-response+json", "application/json", "text/event-stream"]) === "text/event-stream"
  );
}

/** Answers a request refused before its stream opened with a GraphQL error body and its HTTP status. */
function refuse(res: Response, error: GraphQLError, pipeline: OperationPipeline): void {
  const status = STATUS[error.extensions.code as ErrorCode] ?? 400;
  if (status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="workflow-graph"');
  const retryAfter = error.extensions.retryAfterSeconds;
  if (status === 429 && typeof retryAfter === "number") res.setHeader("Retry-After", String(retryAfter));
  res.status(status).json({ errors: pipeline.formatErrors([error]) });
}

function ipOf(req: IncomingMessage, trustProxyHops: number): string {
  return clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"], trustProxyHops);
}

/** Resolves once the response holds less than HIGH_WATER_BYTES unsent (or is closed). */
function drained(res: Response): Promise<void> {
  if (res.writableLength < HIGH_WATER_BYTES || res.destroyed || !res.writable) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterableIterator<ExecutionResult> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

/** The stream's results; an error it throws becomes one last result with the formatted error. */
function endWithErrors(
  source: AsyncIterableIterator<ExecutionResult>,
  pipeline: OperationPipeline,
  requestId: string,
): AsyncIterableIterator<ExecutionResult> {
  let failed = false;
  const wrapped: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      if (failed) return { value: undefined, done: true };
      try {
        return await source.next();
      } catch (error) {
        failed = true;
        const errors = runInRequest({ requestId }, () => pipeline.formatErrors([error]));
        return { value: { errors } as unknown as ExecutionResult, done: false };
      }
    },
    async return() {
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(error) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => wrapped,
  };
  return wrapped;
}
