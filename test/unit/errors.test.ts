import { GraphQLError } from "graphql";
import { Neo4jError } from "neo4j-driver";
import { conflict, createErrorFormatter, isDatabaseUnavailable } from "../../src/errors";
import { createLogger } from "../../src/logger";

/** The formatter, and the lines it logs. */
function formatter() {
  const lines: string[] = [];
  return { format: createErrorFormatter(createLogger("error", (line) => lines.push(line))), lines };
}

/** What Apollo hands the formatter for an error thrown by a resolver at `path`. */
function resolverError(original: Error): GraphQLError {
  return new GraphQLError(original.message, { path: ["appendNode"], originalError: original });
}

describe("error formatting", () => {
  it("passes a known code with its details, without a stack trace", () => {
    const { format, lines } = formatter();
    const error = conflict("Node n already exists", { field: "input.id" });
    const formatted = format({ ...error.toJSON(), extensions: { ...error.extensions, stacktrace: ["at x"] } }, error);
    expect(formatted).toEqual({
      message: "Node n already exists",
      extensions: { code: "CONFLICT", field: "input.id" },
    });
    expect(lines).toEqual([]);
  });

  it("masks an unexpected error as INTERNAL_SERVER_ERROR and logs it in full", () => {
    const { format, lines } = formatter();
    const error = resolverError(new Error("MATCH (n) secret Cypher failed"));
    const formatted = format(error.toJSON(), error);
    expect(formatted).toEqual({
      message: "Internal server error",
      path: ["appendNode"],
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("MATCH (n) secret Cypher failed");
  });

  it("answers SERVICE_UNAVAILABLE when the database is unreachable, however deeply the cause is wrapped", () => {
    const unreachable = new Neo4jError("connection refused", "ServiceUnavailable", "08000", "connection exception");
    const wrapped = new Error("write failed", { cause: new Error("session failed", { cause: unreachable }) });
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(
      isDatabaseUnavailable(new Neo4jError("syntax", "Neo.ClientError.Statement.SyntaxError", "42001", "syntax error")),
    ).toBe(false);
    const { format } = formatter();
    const error = resolverError(wrapped);
    expect(format(error.toJSON(), error).extensions).toEqual({ code: "SERVICE_UNAVAILABLE" });
  });
});
