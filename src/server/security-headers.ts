import type { NextFunction, Request, Response } from "express";
import type { GraphQLFormattedError } from "graphql";

/**
 * The landing page (GET with `Accept: text/html`) sets its own nonce-based script, style, image and
 * frame policy in a `<meta>` tag, which a header policy would only narrow (both apply): the header
 * adds what a meta tag cannot say (frame-ancestors) and leaves the rest to it.
 */
const LANDING_PAGE_CSP = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'";
/** Everything else is JSON that nothing should load, run or frame. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Production response headers: no MIME sniffing, no referrer, no framing, a CSP. */
export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  const page = req.method === "GET" && req.accepts(["json", "html"]) === "html";
  res.setHeader("Content-Security-Policy", page ? LANDING_PAGE_CSP : API_CSP);
  next();
}

/** graphql-js's " Did you mean …?" hints, which spell out field, type and argument names. */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/**
 * Wraps an error formatter so that messages no longer suggest schema names (for production, where
 * the schema may not be public: introspection off).
 */
export function withoutSuggestions<T extends unknown[]>(
  format: (formatted: GraphQLFormattedError, ...rest: T) => GraphQLFormattedError,
) {
  return (formatted: GraphQLFormattedError, ...rest: T): GraphQLFormattedError => {
    const result = format(formatted, ...rest);
    return SUGGESTION.test(result.message) ? { ...result, message: result.message.replace(SUGGESTION, "") } : result;
  };
}
