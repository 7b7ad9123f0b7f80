import { createHash, timingSafeEqual } from "node:crypto";
import type { ApolloServerPlugin } from "@apollo/server";
import type { Request, RequestHandler, Response } from "express";
import { getOperationAST, parse, type DocumentNode } from "graphql";
import { appError, codeOf, PUBLIC_CODES } from "../errors";
import type { Logger } from "../logger";
import type { AppMetrics, Transport } from "../metrics/prometheus";
import { requestIdOf } from "./request-id";

/** Where Prometheus scrapes. */
export const METRICS_PATH = "/metrics";

/** Distinct operation names that get series of their own; later new names count as `anonymous`. */
export const MAX_OPERATION_NAMES = 100;

export interface MetricsRouteOptions {
  metrics: AppMetrics;
  /** METRICS_TOKEN: when set, a scrape must send `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** NODE_ENV=production: without a token, /metrics is refused rather than open. */
  production: boolean;
}

/**
 * GET /metrics in Prometheus' text format. With METRICS_TOKEN, only a request bearing it is served
 * (compared in constant time), anything else is 401. Without it, /metrics is open in development
 * and refused (403) in production: process and traffic figures are not for the whole internet, so
 * a production deployment opts in by setting the token.
 */
export function metricsRoute(options: MetricsRouteOptions): RequestHandler {
  const expected = options.token === undefined ? undefined : digest(options.token);
  return (req: Request, res: Response) => {
    if (expected === undefined && options.production) {
      res
        .status(403)
        .json({ errors: [appError("FORBIDDEN", "Set METRICS_TOKEN to scrape /metrics in production").toJSON()] });
      return;
    }
    if (expected !== undefined) {
      const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
      if (!match || !timingSafeEqual(digest(match[1]), expected)) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="metrics"');
        res
          .status(401)
          .json({ errors: [appError("UNAUTHENTICATED", "/metrics needs the METRICS_TOKEN bearer token").toJSON()] });
        return;
      }
    }
    options.metrics.render().then(
      (text) => {
        res.setHeader("Content-Type", options.metrics.contentType);
        res.setHeader("Cache-Control", "no-store");
        res.end(text);
      },
      (error: unknown) => res.status(500).end(String(error)),
    );
  };
}

/** Equal-length digests, so that timingSafeEqual compares tokens of any length in constant time. */
const digest = (token: string) => createHash("sha256").update(token).digest();

/** The route label of a request: one of a fixed set, never the raw path (ids would make series without end). */
export function routeOf(path: string): string {
  if (path === "/graphql" || path === "/graphql/stream" || path === METRICS_PATH) return path;
  if (path === "/healthz" || path === "/readyz" || path === "/") return path;
  if (path === "/workflows/import") return path;
  if (/^\/workflows\/[^/]+\/export$/.test(path)) return "/workflows/:id/export";
  if (path.startsWith("/web/")) return "static";
  return "other";
}

/** Routes probed every few seconds: their requests are logged at debug, not info. */
const QUIET_ROUTES = new Set(["/healthz", "/readyz", METRICS_PATH, "static"]);

/**
 * Times every HTTP request into `http_request_duration_seconds` and writes one structured log line
 * for it when it finishes (in the request's scope, so with its `requestId`).
 */
export function httpMetricsMiddleware(metrics: AppMetrics, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.once("finish", () => {
      const seconds = (performance.now() - started) / 1000;
      // originalUrl: inside a router mounted on a path, req.path has lost it.
      const route = routeOf(req.originalUrl.split("?")[0]);
      metrics.httpRequest({ method: req.method, route, status: res.statusCode, seconds });
      const log = QUIET_ROUTES.has(route) ? logger.debug : logger.info;
      // "finish" fires outside the request's scope: its id is named here.
      log("http request", {
        requestId: requestIdOf(req),
        method: req.method,
        route,
        status: res.statusCode,
        ms: Math.round(seconds * 1000),
      });
    });
    next();
  };
}

const PUBLIC = new Set([...PUBLIC_CODES, "INTERNAL_SERVER_ERROR"]);
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

/** Records GraphQL operations with bounded labels, for every transport. */
export interface OperationRecorder {
  /**
   * Records one operation: `errors` are its result's (or its refusal's), `ok` when none; the
   * outcome is the first error's code when it is one of ours, else `error`. Also logs it (debug),
   * with `requestId` when given, else the current request scope's.
   */
  record(
    transport: Transport,
    operation: { operationName?: string | null; type?: string; requestId?: string },
    startedMs: number,
    errors?: readonly unknown[],
  ): void;
  /** The name and type of the operation a document (or its text) runs (`unknown` type when it does not parse). */
  describe(document: DocumentNode | unknown, operationName?: string | null): { operationName?: string; type: string };
}

export function createOperationRecorder(metrics: AppMetrics, logger: Logger): OperationRecorder {
  const names = new Set<string>();
  /** A name as a label: its own while under the cap of distinct names, else `anonymous`. */
  const label = (name: string | null | undefined) => {
    if (!name || !GRAPHQL_NAME.test(name)) return "anonymous";
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES) return "anonymous";
    names.add(name);
    return name;
  };
  return {
    record(transport, operation, startedMs, errors) {
      const code = errors && errors.length > 0 ? codeOf(errors[0]) : "ok";
      const report = {
        transport,
        operation: label(operation.operationName),
        type: operation.type ?? "unknown",
        outcome: code === "ok" ? "ok" : typeof code === "string" && PUBLIC.has(code) ? code : "error",
        seconds: (performance.now() - startedMs) / 1000,
      };
      metrics.operation(report);
      logger.debug("graphql operation", {
        ...(operation.requestId && { requestId: operation.requestId }),
        transport,
        operation: report.operation,
        type: report.type,
        outcome: report.outcome,
        ms: Math.round(report.seconds * 1000),
      });
    },
    describe(document, operationName) {
      let parsed: DocumentNode | undefined;
      try {
        parsed = typeof document === "string" ? parse(document) : (document as DocumentNode | undefined);
      } catch {
        parsed = undefined;
      }
      const operation = parsed?.kind === "Document" ? getOperationAST(parsed, operationName ?? undefined) : null;
      return {
        operationName: operation?.name?.value ?? operationName ?? undefined,
        type: operation?.operation ?? "unknown",
      };
    },
  };
}

/** Records each GraphQL operation over HTTP (Apollo): name, type, outcome and latency. */
export function operationMetricsPlugin<TContext extends object>(
  recorder: OperationRecorder,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ response, operation, operationName, request }) {
          const body = response.body;
          const errors = body.kind === "single" ? body.singleResult.errors : body.initialResult.errors;
          recorder.record(
            "http",
            { operationName: operationName ?? request.operationName, type: operation?.operation },
            started,
            errors,
          );
        },
      };
    },
  };
}
