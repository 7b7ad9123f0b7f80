import type { NextFunction, Request, Response } from "express";
import type { GraphQLFormattedError } from "graphql";

/**
 * API responses are JSON that nothing should load, run or frame. The browser pages (GraphiQL,
 * see web-assets.ts) replace it with their own same-origin policy.
 */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Production response headers: no MIME sniffing, no referrer, no framing, a CSP. */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Content-Security-Policy", API_CSP);
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
