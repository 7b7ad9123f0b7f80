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
  /** Appends a node (the seed's `WorkflowEventEmitter.emit`); idempotent when `id` is given. */
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
async function lastSeqOf(url: string, workflowId: string): Promise<number | null> {
  const res = await fetch(url.replace(/^ws/, "http"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: LAST_SEQ, variables: { id: workflowId } }),
    signal: AbortSignal.timeout(10000),
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

/** Errors that resubscribing cannot fix. */
const FINAL_CODES = new Set(["NOT_FOUND", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"]);

export function createWorkflowClient(options: WorkflowClientOptions): WorkflowClient {
  const urls = (Array.isArray(options.url) ? options.url : [options.url]).map((u) => u.replace(/^http/, "ws"));
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const maxRetries = options.maxRetries ?? Number.POSITIVE_INFINITY;
  const last = new Map<string, number>();
  const stops = new Set<() => void>();
  let next = 0;

  /** Closes a graphql-ws client; disposing one whose connection attempt failed rejects. */
  const dispose = (client: Client) => void Promise.resolve(client.dispose()).catch(() => undefined);

  return {
    async emit(event) {
      const url = urls[0].replace(/^ws/, "http");
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: EMIT, variables: { input: event } }),
      });
      const body = (await res.json()) as {
        data?: { appendNode: { id: string; seq: number; branchId: string } };
        errors?: unknown[];
      };
      if (body.errors?.length || !body.data) throw new Error(`emit failed: ${JSON.stringify(body.errors)}`);
      return body.data.appendNode;
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
            const seq = await lastSeqOf(url, workflowId);
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
