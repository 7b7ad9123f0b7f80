import { Transform } from "node:stream";
import express, { type Request, type RequestHandler, type Response, type Router } from "express";
import { GraphQLError, OperationTypeNode } from "graphql";
import { accessScopeOf } from "../auth/access-scope";
import { checkOperation } from "../auth/operation-gate";
import type { Principal } from "../auth/principal";
import { exportWorkflow } from "../domain/archive/export-workflow";
import { importWorkflow, linesOf } from "../domain/archive/import-workflow";
import type { Store } from "../domain/store";
import { requireAccess } from "../domain/workflow-access";
import {
  badRequest,
  codeOf,
  internalServerError,
  isDatabaseUnavailable,
  databaseUnavailable,
  rateLimited,
} from "../errors";
import type { Logger } from "../logger";
import { clientIp, rateKey, type OperationLimiter } from "./rate-limit";
import { requestIdOf } from "./request-id";

/** The media type of an archive: one JSON document per line. */
export const NDJSON = "application/x-ndjson";

/** What the archive routes share with /graphql. */
export interface ArchiveRoutesOptions {
  store: Store;
  /** The same authentication as /graphql (authenticateHttp): UNAUTHENTICATED (401) without a valid token. */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /** The same CORS answers as /graphql. */
  cors: RequestHandler;
  /** The same per-principal operation budget as /graphql: each request counts as one operation. */
  limiter: OperationLimiter;
  trustProxyHops: number;
  /** The same body limit as /graphql (`MAX_BODY_BYTES`); a larger archive is imported with the CLI. */
  maxBodyBytes: number;
  logger: Logger;
}

const STATUS: Record<string, number> = {
  BAD_USER_INPUT: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * `GET /workflows/:id/export` (NDJSON, owners and admins) and `POST /workflows/import` (an NDJSON
 * body, admins and writers), answering errors as GraphQL does: `{"errors": [{message,
 * extensions: {code}}]}` with the matching HTTP status.
 */
export function createArchiveRouter(options: ArchiveRoutesOptions): Router {
  const { store, logger } = options;
  const router = express.Router();

  /** Authenticates, applies the role gate and the rate limit; the caller's principal. */
  async function admit(req: Request, operation: OperationTypeNode): Promise<Principal> {
    const principal = await options.authenticate(req.headers.authorization);
    const ip = clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"], options.trustProxyHops);
    const decision = await options.limiter.consume(rateKey(principal, ip));
    if (!decision.allowed) {
      throw rateLimited(`Too many operations; retry in ${decision.retryAfterSeconds} s`, decision.retryAfterSeconds);
    }
    const denied = checkOperation(principal, operation);
    if (denied) throw denied;
    return principal;
  }

  function fail(res: Response, error: unknown) {
    let known = error instanceof GraphQLError ? error : isDatabaseUnavailable(error) ? databaseUnavailable() : null;
    if (!known || STATUS[String(codeOf(known))] === undefined) {
      logger.error("archive request failed", { error: error as Error });
      known = internalServerError();
    }
    const code = String(known.extensions.code);
    if (code === "UNAUTHENTICATED") res.setHeader("www-authenticate", 'Bearer realm="workflow-graph"');
    if (code === "RATE_LIMITED") res.setHeader("retry-after", String(known.extensions.retryAfterSeconds ?? 60));
    const status = (known as { status?: number }).status ?? STATUS[code] ?? 500;
    res.status(status).json({ errors: [known.toJSON()] });
  }

  // A partial export (what a reader may see) could not be restored: owners and admins only.
  router.get("/workflows/:id/export", options.cors, async (req, res) => {
    let started = false;
    try {
      const principal = await admit(req, OperationTypeNode.QUERY);
      const id = await requireAccess(store, accessScopeOf(principal), String(req.params.id), "OWNER");
      const lines = exportWorkflow(store, id);
      // The first line is read before the status is sent, so a workflow gone meanwhile is a 404.
      const first = await lines.next();
      res.status(200).setHeader("content-type", NDJSON);
      res.setHeader("content-disposition", `attachment; filename="workflow-${id}.ndjson"`);
      started = true;
      if (!first.done) res.write(first.value);
      for await (const line of lines) {
        if (res.destroyed) return;
        if (!res.write(line)) await new Promise((resolve) => res.once("drain", resolve));
      }
      res.end();
    } catch (error) {
      if (!started) return fail(res, error);
      // Mid-stream: the file ends without its end line, which importWorkflow refuses.
      logger.warn("export ended before its end line", { error: error as Error });
      res.destroy();
    }
  });

  router.post("/workflows/import", options.cors, async (req, res) => {
    try {
      const principal = await admit(req, OperationTypeNode.MUTATION);
      // The body starts flowing when the import starts reading it: piped earlier, a body over the
      // limit would fail before anyone listens, and the import would wait for it forever.
      const body = async function* () {
        yield* linesOf(req.pipe(limitBytes(options.maxBodyBytes)));
      };
      const scope = {
        ...accessScopeOf(principal),
        audit: {
          operation: "importWorkflow",
          requestId: requestIdOf(req),
          clientAddress: req.socket.remoteAddress ?? null,
          inputDigest: "",
        },
      };
      const imported = await importWorkflow(store, body(), { scope });
      res.status(200).json({ data: { importWorkflow: imported } });
    } catch (error) {
      fail(res, error);
    }
  });
  return router;
}

/** Passes at most `max` bytes, then fails with BAD_REQUEST (the archive is then not read at all). */
function limitBytes(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > max)
        return callback(Object.assign(badRequest(`Request body too large (over ${max} bytes)`), { status: 413 }));
      callback(null, chunk);
    },
  });
}
