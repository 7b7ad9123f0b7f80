import { badUserInput } from "../../errors";

/** The parser's exceptions as Neo4j reports them from a full-text query procedure. */
const PARSER_FAILURE =
  /org\.apache\.lucene\.(?:queryparser\.classic\.(?:ParseException|TokenMgrError)|search\.(?:IndexSearcher\.TooManyClauses|BooleanQuery\$TooManyClauses))[^:]*:\s*([^\n]*)/;

/**
 * A full-text query that Lucene could not parse (or that expands to too many terms), as the
 * BAD_USER_INPUT error naming the parser's message; undefined for any other error.
 */
export function searchSyntaxError(error: unknown, field = "query") {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== "Neo.ClientError.Procedure.ProcedureCallFailed" || typeof message !== "string") return undefined;
  const found = PARSER_FAILURE.exec(message);
  if (!found) return undefined;
  const detail = found[1].trim() || "the query cannot be parsed";
  return badUserInput(`${field} is not a valid Lucene query: ${detail}`, { field });
}
