import { randomUUID } from "node:crypto";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

/** What an agent emits: one node of a workflow (the seed's WorkflowEvent). */
export interface EmitInput {
  id?: string;
  workflowId: string;
  parentId: string;
  type: "MESSAGE" | "ACTION" | "DECISION" | "OPTION" | "MONITOR";
  content: string;
  metadata?: Record<string, unknown>;
  agentId?: string;
  userId?: string;
  branchId?: string;
}

/** An event as the client delivers it. */
export interface ClientEvent {
  seq: number;
  kind: string;
  workflowId: string;
  at: string;
  node: { id: string; type: string; content: string; branchId: string; parentId: string | null } | null;
  branch: { id: string; name: string; status: string } | null;
  decision: { id: string } | null;
  option: { id: string } | null;
}

export interface WorkflowClientOptions {
  /** The GraphQL endpoint (http:// or ws://); several: reconnects rotate through them. */
  url: string | string[];
  /** First reconnect delay; doubles up to `maxBackoffMs`. @default 100 */
  minBackoffMs?: number;
  /** @default 5000 */
  maxBackoffMs?: number;
  /** Give up after this many failed reconnects in a row. @default Infinity */
  maxRetries?: number;
  /** How long one HTTP request (emit, and the lastSeq read) may take. @default 10000 */
  requestTimeoutMs?: number;
}

export interface SubscribeOptions {
  /** Deliver events after this seq (the stored ones first). Omitted: from now on. */
  afterSeq?: number;
  onEvent(event: ClientEvent): void;
  /** Called once if the subscription ends for good (retries exhausted, or a client error). */
  onError?(error: unknown): void;
}

/** A typed client for agents and frontends. */
export interface WorkflowClient {
  /**
   * Appends a node (the seed's `WorkflowEventEmitter.emit`). Sent to the URL that last answered;
   * on a connection error, a timeout or a server-side failure (HTTP 5xx, SERVICE_UNAVAILABLE,
   * INTERNAL_SERVER_ERROR) it is sent to the next URL, each at most once. It carries an id
   * (generated when `event.id` is omitted), so a resend never writes the node twice.
   * @throws WorkflowClientError with the server's GraphQL errors (e.g. NOT_FOUND, BAD_USER_INPUT:
   *   not retried), or with each URL's failure when none answered.
   */
  emit(event: EmitInput): Promise<{ id: string; seq: number; branchId: string }>;
  /**
   * Streams a workflow's events exactly once and in order: after any disconnect it reconnects with
   * backoff (to the next URL) and resumes after the last seq it delivered, so callers never see a
   * gap or a duplicate. Returns the function that stops it.
   */
  subscribe(workflowId: string, options: SubscribeOptions): () => void;
  /** The last seq delivered per workflow. */
  lastSeq(workflowId: string): number | undefined;
  close(): Promise<void>;
}

const EVENTS = /* GraphQL */ `
  subscription ClientEvents($workflowId: ID!, $afterSeq: Int) {
    workflowEvents(workflowId: $workflowId, afterSeq: $afterSeq) {
      seq
      kind
      workflowId
      at
      node {
        id
        type
        content
        branchId
        parent {
          id
        }
      }
      branch {
        id
        name
        status
      }
      decision {
        id
      }
      option {
        id
      }
    }
  }
`;

const LAST_SEQ = /* GraphQL */ `
  query ClientLastSeq($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      lastSeq
    }
  }
`;

/** The workflow's newest seq, or null when there is no such workflow. */
async function lastSeqOf(url: string, workflowId: string, timeoutMs: number): Promise<number | null> {
  const res = await fetch(url.replace(/^ws/, "http"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: LAST_SEQ, variables: { id: workflowId } }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { data?: { workflows: { lastSeq: number }[] }; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw body.errors ?? new Error(`HTTP ${res.status}`);
  return body.data.workflows[0]?.lastSeq ?? null;
}

const EMIT = /* GraphQL */ `
  mutation ClientEmit($input: AppendNodeInput!) {
    appendNode(input: $input) {
      id
      seq
      branchId
    }
  }
`;

/** A GraphQL error as it arrives in a response. */
export interface GraphQLErrorLike {
  message: string;
  extensions?: { code?: unknown; [key: string]: unknown };
}

/**
 * Thrown by `emit`: the server's GraphQL errors, or, when no URL answered, why each failed (with
 * the last server-side GraphQL errors, such as SERVICE_UNAVAILABLE, in `errors`).
 */
export class WorkflowClientError extends Error {
  override name = "WorkflowClientError";
  /** The `extensions.code` of the first GraphQL error, if any. */
  readonly code: unknown;
  constructor(
    message: string,
    readonly errors: GraphQLErrorLike[],
    /** Per URL tried, what made the client move on to the next one. */
    readonly failures: unknown[] = [],
  ) {
    super(
      failures.length > 0
        ? `${message}: ${failures.map(describeFailure).join("; ")}`
        : `${message}: ${JSON.stringify(errors)}`,
    );
    this.code = errors[0]?.extensions?.code;
  }
}

/** One line for why a URL was passed over: fetch's own message hides the socket error in `cause`. */
function describeFailure(failure: unknown): string {
  const messageOf = (e: unknown) => (e as { message?: unknown } | undefined)?.message;
  const message = messageOf((failure as { cause?: unknown } | undefined)?.cause) ?? messageOf(failure);
  return typeof message === "string" ? message : JSON.stringify(failure);
}

/** Codes of a server-side failure that another instance may not have. */
const RETRY_ELSEWHERE = new Set(["SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR"]);

/** Errors that resubscribing cannot fix. */
const FINAL_CODES = new Set(["NOT_FOUND", "BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"]);

/**
 * The close code of a subscriber the server cut off as too slow (WebSocket's "Try Again Later",
 * which stock graphql-ws clients retry too). This client reconnects after it, as after any
 * close, and resumes after the last event it delivered. Equal to the server's
 * SLOW_SUBSCRIBER_CLOSE_CODE (a unit test checks); declared here so the client stays standalone.
 */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 1013;

export function createWorkflowClient(options: WorkflowClientOptions): WorkflowClient {
  const urls = (Array.isArray(options.url) ? options.url : [options.url]).map((u) => u.replace(/^http/, "ws"));
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const maxRetries = options.maxRetries ?? Number.POSITIVE_INFINITY;
  const last = new Map<string, number>();
  const stops = new Set<() => void>();
  let next = 0;
  /** Where emit starts: the last URL that answered. */
  let emitFrom = 0;
  const timeoutMs = options.requestTimeoutMs ?? 10000;

  /**
   * POSTs one operation. A connection error, a timeout, an HTTP 5xx or a server-side GraphQL error
   * (SERVICE_UNAVAILABLE, INTERNAL_SERVER_ERROR) is `failover`: another instance may answer. Any
   * other answer, including a GraphQL error about the request itself, is final.
   */
  const post = async (
    url: string,
    query: string,
    variables: Record<string, unknown>,
  ): Promise<{ failover: unknown } | { body: Record<string, unknown>; errors: GraphQLErrorLike[] }> => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      return { failover: error };
    }
    if (res.status >= 500) {
      await res.body?.cancel().catch(() => undefined);
      return { failover: new Error(`${url} answered HTTP ${res.status}`) };
    }
    let body: { errors?: GraphQLErrorLike[] };
    try {
      body = (await res.json()) as typeof body;
    } catch (error) {
      // The answer was cut off (the instance went away mid-response), or is not GraphQL at all.
      return { failover: error };
    }
    const errors = body.errors ?? [];
    if (errors.some((e) => RETRY_ELSEWHERE.has(e.extensions?.code as string))) return { failover: errors };
    return { body: body as Record<string, unknown>, errors };
  };

  /** Closes a graphql-ws client; disposing one whose connection attempt failed rejects. */
  const dispose = (client: Client) => void Promise.resolve(client.dispose()).catch(() => undefined);

  return {
    async emit(event) {
      // With an id the append is idempotent: sending it again to another instance after an answer
      // that was lost cannot write it twice.
      const input = { ...event, id: event.id ?? randomUUID() };
      const failures: unknown[] = [];
      for (let tried = 0; tried < urls.length; tried++) {
        const index = (emitFrom + tried) % urls.length;
        const outcome = await post(urls[index].replace(/^ws/, "http"), EMIT, { input });
        if ("failover" in outcome) {
          failures.push(outcome.failover);
          continue;
        }
        emitFrom = index; // stay with an instance that answers
        const body = outcome.body as { data?: { appendNode: { id: string; seq: number; branchId: string } } | null };
        const errors = outcome.errors;
        if (errors.length > 0 || !body.data) throw new WorkflowClientError("emit failed", errors);
        return body.data.appendNode;
      }
      const serverErrors = failures.filter((f): f is GraphQLErrorLike[] => Array.isArray(f)).at(-1) ?? [];
      throw new WorkflowClientError("emit failed on every URL", serverErrors, failures);
    },

    subscribe(workflowId, subscription) {
      let stopped = false;
      let failures = 0;
      let client: Client | undefined;
      let timer: NodeJS.Timeout | undefined;
      // This subscription's own position: the last seq it delivered (undefined: not known yet).
      let position = subscription.afterSeq;

      const start = async () => {
        if (stopped) return;
        const url = urls[next++ % urls.length];
        if (position === undefined) {
          // "From now on" must survive a reconnect before the first event: fix "now" as the
          // workflow's lastSeq first, then every later attempt resumes after a known seq.
          try {
            const seq = await lastSeqOf(url, workflowId, timeoutMs);
            if (stopped) return;
            if (seq === null) return attempt(url, null); // unknown workflow: the server says NOT_FOUND
            position = seq;
            last.set(workflowId, seq);
          } catch (error) {
            return retry(undefined, error);
          }
        }
        attempt(url, position);
      };

      const attempt = (url: string, afterSeq: number | null) => {
        if (stopped) return;
        const current = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
        client = current;
        // graphql-ws may report the end of one attempt twice (an error result, then `complete`
        // once disposed): only the first retries, or each failure would double the live attempts.
        let ended = false;
        const end = (error: unknown) => {
          if (ended) return;
          ended = true;
          retry(current, error);
        };
        current.subscribe<{
          workflowEvents: Omit<ClientEvent, "node"> & {
            node: (ClientEvent["node"] & { parent?: { id: string } | null }) | null;
          };
        }>(
          { query: EVENTS, variables: { workflowId, afterSeq } },
          {
            next(result) {
              if (ended || stopped) return;
              if (result.errors?.length) return end(result.errors);
              const event = result.data?.workflowEvents;
              if (!event) return;
              failures = 0;
              if (position !== undefined && event.seq <= position) return; // never deliver twice
              position = event.seq;
              last.set(workflowId, event.seq);
              const node = event.node
                ? { ...event.node, parentId: event.node.parent?.id ?? null, parent: undefined }
                : null;
              if (node) delete node.parent;
              subscription.onEvent({ ...event, node } as ClientEvent);
            },
            error: end,
            complete: () => end(new Error("stream completed")),
          },
        );
      };

      const retry = (current: Client | undefined, error: unknown) => {
        if (current) dispose(current);
        if (stopped) return;
        const codes = (Array.isArray(error) ? error : [error]).map(
          (e) => (e as { extensions?: { code?: string } })?.extensions?.code,
        );
        if (codes.some((c) => c && FINAL_CODES.has(c)) || failures >= maxRetries) {
          stop();
          subscription.onError?.(error);
          return;
        }
        const delay = Math.min(maxBackoff, minBackoff * 2 ** failures);
        failures += 1;
        timer = setTimeout(() => void start(), delay);
      };

      const stop = () => {
        stopped = true;
        clearTimeout(timer);
        if (client) dispose(client);
        stops.delete(stop);
      };
      stops.add(stop);
      if (position !== undefined) last.set(workflowId, position);
      void start();
      return stop;
    },

    lastSeq: (workflowId) => last.get(workflowId),

    async close() {
      for (const stop of [...stops]) stop();
    },
  };
}
