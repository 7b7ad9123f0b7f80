import { GraphQLError } from "graphql";
import neo4j from "neo4j-driver";
import {
  createErrorFormatter,
  databaseUnavailable,
  isDatabaseUnavailable,
  PUBLIC_CODES,
  slowSubscriber,
} from "../../src/errors";
import { translateDriverError } from "../../src/infra/neo4j";
import { openEventStream } from "../../src/live/event-stream";
import type { EventBus } from "../../src/live/event-bus";
import type { EventSource } from "../../src/domain/history/event-log";
import type { WorkflowEventMessage } from "../../src/domain/workflow-event";
import type { Logger } from "../../src/logger";

/** Pure logic, no services: which errors clients see, and which are logged as unexpected. */

/** A logger that keeps what it was told, by level. */
function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  const logger: Logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
  return { logger, errors: () => lines.filter((l) => l.level === "error") };
}

/** An error as a resolver's throw reaches the formatter: wrapped by graphql-js with a path. */
function located(original: Error): GraphQLError {
  return new GraphQLError(original.message, { path: ["appendNode"], originalError: original });
}

const format = (formatter: ReturnType<typeof createErrorFormatter>, error: GraphQLError) =>
  formatter(error.toJSON(), error);

describe("driver errors that mean the database is not there right now", () => {
  const cases: [string, Error][] = [
    [
      "a write cut off by a Neo4j shutdown (DatabaseUnavailable)",
      new neo4j.Neo4jError(
        "The database is not currently available to serve your request",
        "Neo.TransientError.General.DatabaseUnavailable",
        "50N42",
        "",
      ),
    ],
    [
      "connection refused (ServiceUnavailable)",
      new neo4j.Neo4jError("Could not perform discovery", neo4j.error.SERVICE_UNAVAILABLE, "50N42", ""),
    ],
    ["a session expired", new neo4j.Neo4jError("Session expired", neo4j.error.SESSION_EXPIRED, "50N42", "")],
    [
      "the pool of a closing driver",
      new neo4j.Neo4jError("Pool is closed, it is no more able to serve requests.", "N/A", "50N42", ""),
    ],
    ["a connection the server closed", new neo4j.Neo4jError("Connection was closed by server", "N/A", "50N42", "")],
    [
      "a pool with no connection free in time",
      new neo4j.Neo4jError(
        "Connection acquisition timed out in 60000 ms. Pool status: Active conn count = 100, Idle conn count = 0.",
        "N/A",
        "50N42",
        "",
      ),
    ],
    ["a reset socket", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })],
    [
      "one wrapped in another error's cause",
      new Error("transaction failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      }),
    ],
    [
      "one inside an AggregateError",
      new AggregateError([new Error("other"), new neo4j.Neo4jError("Session expired", "SessionExpired", "50N42", "")]),
    ],
  ];
  it.each(cases)("%s is SERVICE_UNAVAILABLE at the driver boundary and at the formatter", (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect((translateDriverError(error) as GraphQLError).extensions.code).toBe("SERVICE_UNAVAILABLE");
    const { logger, errors } = recordingLogger();
    const formatted = format(createErrorFormatter(logger), located(error));
    expect(formatted).toMatchObject({ extensions: { code: "SERVICE_UNAVAILABLE" }, path: ["appendNode"] });
    expect(errors()).toEqual([]);
  });

  it("does not count a constraint violation or a syntax error as unavailable", () => {
    const constraint = new neo4j.Neo4jError(
      "already exists",
      "Neo.ClientError.Schema.ConstraintValidationFailed",
      "",
      "",
    );
    const syntax = new neo4j.Neo4jError("Invalid input", "Neo.ClientError.Statement.SyntaxError", "", "");
    expect(isDatabaseUnavailable(constraint)).toBe(false);
    expect(isDatabaseUnavailable(syntax)).toBe(false);
    expect((translateDriverError(constraint) as GraphQLError).extensions.code).toBe("CONFLICT");
    expect(translateDriverError(syntax)).toBe(syntax);
  });
});

describe("the error formatter", () => {
  it("passes SLOW_SUBSCRIBER as it is, wrapped the way graphql-ws wraps a stream's error, without logging it", () => {
    const { logger, errors } = recordingLogger();
    const thrown = slowSubscriber({ bytes: 1048576 }, 42);
    // graphql-ws catches the stream's rejection and wraps it in a new GraphQLError.
    const wrapped = new GraphQLError(thrown.message, { originalError: thrown });
    const formatted = format(createErrorFormatter(logger), wrapped);
    expect(formatted.extensions).toEqual({ code: "SLOW_SUBSCRIBER", limit: "bytes", max: 1048576, lastSeq: 42 });
    expect(formatted.message).toBe(
      "Subscriber fell more than 1048576 bytes of events behind; resubscribe with afterSeq",
    );
    expect(errors()).toEqual([]);
  });

  it("masks anything else as INTERNAL_SERVER_ERROR and logs it once, in full", () => {
    const { logger, errors } = recordingLogger();
    const formatted = format(createErrorFormatter(logger), located(new TypeError("x is undefined")));
    expect(formatted).toEqual({
      message: "Internal server error",
      path: ["appendNode"],
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    });
    expect(errors()).toHaveLength(1);
  });

  it("keeps graphql-js's own request errors (no original error) with their code, unlogged", () => {
    const { logger, errors } = recordingLogger();
    const invalid = new GraphQLError('Unknown argument "x"', { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
    expect(format(createErrorFormatter(logger), invalid).extensions).toEqual({ code: "GRAPHQL_VALIDATION_FAILED" });
    expect(errors()).toEqual([]);
  });

  it("lists every code the API creates, except the masked one, as public", () => {
    for (const code of [
      "BAD_USER_INPUT",
      "BAD_REQUEST",
      "NOT_FOUND",
      "CONFLICT",
      "SLOW_SUBSCRIBER",
      "SERVICE_UNAVAILABLE",
    ]) {
      expect(PUBLIC_CODES).toContain(code);
    }
    expect(PUBLIC_CODES).not.toContain("INTERNAL_SERVER_ERROR");
    expect(databaseUnavailable().extensions.code).toBe("SERVICE_UNAVAILABLE");
  });
});

describe("a stream whose consumer does not read", () => {
  /** A bus that hands its listener to the test, and an empty stored log. */
  async function stream(options: { maxBuffer: number; maxBufferBytes: number }) {
    let push!: (event: WorkflowEventMessage) => void;
    const bus: EventBus = {
      publish: async () => undefined,
      async listen(listener) {
        push = listener.onEvent;
        return () => undefined;
      },
      liveSubscribers: () => 0,
      listenerCount: () => 0,
      close: () => undefined,
    };
    const source: EventSource = { read: async () => [], lastSeq: async () => 0 };
    let overflowed = 0;
    const events = await openEventStream(bus, source, {
      workflowId: "w",
      ...options,
      onOverflow: () => (overflowed += 1),
    });
    const event = (seq: number, content: string): WorkflowEventMessage => ({
      kind: "NODE_ADDED",
      seq,
      workflowId: "w",
      at: new Date(0).toISOString(),
      node: { content } as WorkflowEventMessage["node"],
    });
    // Let the stream read its starting point before events arrive.
    await new Promise((resolve) => setImmediate(resolve));
    return { events, push: (seq: number, content = "") => push(event(seq, content)), overflowed: () => overflowed };
  }

  /** Takes what the stream buffered until it fails; returns the failure. */
  async function failure(events: AsyncIterableIterator<WorkflowEventMessage>): Promise<GraphQLError> {
    for (;;) {
      try {
        if ((await events.next()).done) throw new Error("the stream ended without an error");
      } catch (error) {
        return error as GraphQLError;
      }
    }
  }

  it("names the byte bound when the bytes tripped it", async () => {
    const s = await stream({ maxBuffer: 100, maxBufferBytes: 10_000 });
    for (let seq = 1; seq <= 3; seq++) s.push(seq, "x".repeat(4_000));
    await new Promise((resolve) => setImmediate(resolve));
    const error = await failure(s.events);
    expect(error.message).toBe("Subscriber fell more than 10000 bytes of events behind; resubscribe with afterSeq");
    expect(error.extensions).toMatchObject({ code: "SLOW_SUBSCRIBER", limit: "bytes", max: 10000 });
    expect(s.overflowed()).toBe(1);
  });

  it("names the event bound when the count tripped it", async () => {
    const s = await stream({ maxBuffer: 5, maxBufferBytes: 16 * 1024 * 1024 });
    for (let seq = 1; seq <= 6; seq++) s.push(seq);
    await new Promise((resolve) => setImmediate(resolve));
    const error = await failure(s.events);
    expect(error.message).toBe("Subscriber fell more than 5 events behind; resubscribe with afterSeq");
    expect(error.extensions).toMatchObject({ code: "SLOW_SUBSCRIBER", limit: "events", max: 5 });
    expect(s.overflowed()).toBe(1);
  });
});
