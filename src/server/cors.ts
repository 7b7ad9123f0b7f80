import cors from "cors";
import type { RequestHandler } from "express";

/** Which browser origins may call the API (`CORS_ORIGINS`), on HTTP and at the WebSocket upgrade. */
export interface OriginPolicy {
  /**
   * True when a request with this `Origin` may proceed: no Origin (not a browser), the same origin
   * (its host is the request's `Host`), or a listed one.
   */
  allows(origin: string | undefined, host: string | undefined): boolean;
  /** CORS headers and preflight answers for listed origins; others get no CORS headers. */
  cors: RequestHandler;
}

/** `origins`: exact origins (`scheme://host[:port]`), or `["*"]` for any origin without credentials. */
export function createOriginPolicy(origins: readonly string[]): OriginPolicy {
  const any = origins.includes("*");
  const listed = new Set(origins.map((o) => o.toLowerCase()));
  const isListed = (origin: string) => any || listed.has(origin.toLowerCase());
  return {
    allows(origin, host) {
      if (origin === undefined) return true;
      if (isListed(origin)) return true;
      try {
        return host !== undefined && new URL(origin).host === host.toLowerCase();
      } catch {
        return false;
      }
    },
    cors: cors(
      any
        ? { origin: "*", credentials: false, maxAge: 600 }
        : {
            origin: (origin, callback) => callback(null, origin !== undefined && isListed(origin) ? origin : false),
            credentials: true,
            maxAge: 600,
          },
    ),
  };
}
