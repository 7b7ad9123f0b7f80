import { useEffect, useState } from "react";
import type { Client } from "graphql-ws";
import { request, RequestError } from "./api";
import { DECISIONS, HISTORY, MONITOR_PAGE, MONITORS, STRUCTURE, WORKFLOW, WORKFLOW_EVENTS } from "./documents";
import { describeStreamError, isRetryableStreamError, type ApiError } from "./errors";
import {
  applyEvents,
  modelFromLoad,
  workflowStateChange,
  type BranchData,
  type DecisionData,
  type EventData,
  type MonitorData,
  type NodeData,
  type WorkflowModel,
} from "./model";

/** A workflow's own fields, as the page header shows them. */
export interface WorkflowHeader {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  lastSeq: number;
  nodeCount: number;
  myAccess: "READ" | "WRITE" | "OWNER" | null;
}

/** What {@link useLiveWorkflow} gives the page. */
export interface LiveWorkflow {
  header: WorkflowHeader | null;
  model: WorkflowModel | null;
  /** Nodes read so far while loading, of how many. */
  progress: { loaded: number; total: number } | null;
  /** Why the load failed. */
  error: ApiError | null;
  /** Why the live stream stopped, until it is back. */
  streamError: ApiError | null;
  /** The live stream's connection. */
  live: "connecting" | "connected" | "closed";
  /** Milliseconds from the start of the load to the model being ready. */
  loadMs: number | null;
  /** The workflow was deleted while shown: the stream has ended and is not resumed. */
  deleted: boolean;
}

interface HistoryPage {
  edges: { node: NodeData }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Nodes per history page: the API's largest. */
const PAGE = 1000;
/** How long stream events gather before one render: a burst of appends becomes one update. */
const BATCH_MS = 30;

/** Reads a workflow: its header (and so `lastSeq`) first, then its nodes page by page, then the rest. */
async function loadWorkflow(
  workflowId: string,
  onProgress: (loaded: number, total: number) => void,
  cancelled: () => boolean,
): Promise<{ header: WorkflowHeader; model: WorkflowModel }> {
  const { workflows } = await request<{ workflows: WorkflowHeader[] }>(WORKFLOW, { id: workflowId });
  const header = workflows[0];
  if (!header) throw new RequestError({ code: "NOT_FOUND", message: "Not found, or not visible to your token." });
  // The node pages follow each other (each starts at the previous cursor); the branches, decisions
  // and monitors are read alongside them.
  const readNodes = async () => {
    const nodes: NodeData[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { history: HistoryPage } = await request<{ history: HistoryPage }>(HISTORY, {
        workflowId,
        after,
        first: PAGE,
      });
      for (const edge of page.history.edges) nodes.push(edge.node);
      onProgress(nodes.length, Math.max(header.nodeCount, nodes.length));
      if (cancelled()) throw new RequestError({ code: "CANCELLED", message: "cancelled" });
      if (!page.history.pageInfo.hasNextPage || !page.history.pageInfo.endCursor) return nodes;
      after = page.history.pageInfo.endCursor;
    }
  };
  const readBranches = async () => {
    const branches: BranchData[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await request<{ branches: BranchData[] }>(STRUCTURE, { workflowId, offset, limit: PAGE });
      branches.push(...page.branches);
      if (page.branches.length < PAGE) return branches;
    }
  };
  const readMonitors = async () => {
    const links: MonitorData[] = [];
    for (let offset = 0; ; offset += MONITOR_PAGE) {
      const page = await request<{ workflowNodes: { id: string; monitors: { id: string }[] }[] }>(MONITORS, {
        workflowId,
        offset,
      });
      for (const monitor of page.workflowNodes) {
        for (const target of monitor.monitors) links.push({ monitor: { id: monitor.id }, target });
      }
      if (page.workflowNodes.length < MONITOR_PAGE) return links;
    }
  };
  const [nodes, branches, { decisionPoints }, monitors] = await Promise.all([
    readNodes(),
    readBranches(),
    request<{ decisionPoints: DecisionData[] }>(DECISIONS, { workflowId }),
    readMonitors(),
  ]);
  const model = modelFromLoad({
    workflowId,
    lastSeq: header.lastSeq,
    nodes,
    branches,
    decisions: decisionPoints,
    monitors,
  });
  return { header, model };
}

/**
 * Loads a workflow and follows it live: `workflowEvents` from the `lastSeq` the load started at.
 * After a drop the client reconnects and re-sends the subscription; its `afterSeq` is kept at the
 * last seq received (the client re-sends the same payload object), so the stream resumes exactly
 * there. A stream the server ended with an error it may not repeat (a slow-subscriber close) is
 * subscribed again from the same seq.
 */
export function useLiveWorkflow(workflowId: string, client: Client, reloadKey: number): LiveWorkflow {
  const [state, setState] = useState<LiveWorkflow>({
    header: null,
    model: null,
    progress: null,
    error: null,
    streamError: null,
    live: "connecting",
    loadMs: null,
    deleted: false,
  });

  useEffect(() => {
    let stopped = false;
    let deleted = false;
    let unsubscribe: (() => void) | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let pending: EventData[] = [];
    // Marks for `npm run bench` (scenario 10) to split the time to first render.
    performance.mark("viewer:load-start");
    const started = performance.now();
    setState({
      header: null,
      model: null,
      progress: null,
      error: null,
      streamError: null,
      live: "connecting",
      loadMs: null,
      deleted: false,
    });

    const flush = () => {
      flushTimer = undefined;
      const events = pending;
      pending = [];
      setState((s) => {
        if (!s.model) return s;
        const model = applyEvents(s.model, events);
        if (model === s.model) return s;
        const change = workflowStateChange(events);
        // Counted from the model: an event delivered twice (around a resubscription) counts once.
        const header = s.header && {
          ...s.header,
          lastSeq: model.lastSeq,
          nodeCount: model.nodes.size,
          status: change.status ?? s.header.status,
        };
        return { ...s, model, header, deleted: change.deleted ?? s.deleted };
      });
    };

    const follow = (variables: { workflowId: string; afterSeq: number }) => {
      unsubscribe = client.subscribe<{ workflowEvents: EventData }>(
        { query: WORKFLOW_EVENTS, variables },
        {
          next: (result) => {
            if (result.errors?.length) {
              setState((s) => ({ ...s, streamError: describeStreamError(result.errors) }));
              return;
            }
            const event = result.data?.workflowEvents;
            if (!event) return;
            // The server completes the stream after this event; there is nothing to resume.
            if (event.kind === "WORKFLOW_DELETED") deleted = true;
            // Read again by the client when it re-sends the subscription after a reconnect.
            variables.afterSeq = Math.max(variables.afterSeq, event.seq);
            pending.push(event);
            flushTimer ??= setTimeout(flush, BATCH_MS);
          },
          error: (error) => {
            if (stopped) return;
            const described = describeStreamError(error);
            setState((s) => ({ ...s, streamError: described }));
            if (isRetryableStreamError(described) && !deleted) retryTimer = setTimeout(() => follow(variables), 1000);
          },
          complete: () => {
            // Revoked access or a stopping server ends a stream: try again (a deleted workflow's does not come back).
            if (!stopped && !deleted) retryTimer = setTimeout(() => follow(variables), 1000);
          },
        },
      );
    };

    loadWorkflow(
      workflowId,
      (loaded, total) => setState((s) => ({ ...s, progress: { loaded, total } })),
      () => stopped,
    )
      .then(({ header, model }) => {
        if (stopped) return;
        performance.mark("viewer:loaded");
        setState((s) => ({
          ...s,
          header: { ...header, nodeCount: model.nodes.size },
          model,
          progress: null,
          loadMs: performance.now() - started,
        }));
        follow({ workflowId, afterSeq: model.lastSeq });
      })
      .catch((error: unknown) => {
        if (stopped) return;
        const described =
          error instanceof RequestError ? error.error : { code: "ERROR", message: String((error as Error).message) };
        setState((s) => ({ ...s, error: described, progress: null }));
      });

    const offConnected = client.on("connected", () =>
      setState((s) => ({ ...s, live: "connected", streamError: null })),
    );
    const offConnecting = client.on("connecting", () => setState((s) => ({ ...s, live: "connecting" })));
    const offClosed = client.on("closed", () => setState((s) => ({ ...s, live: "closed" })));
    return () => {
      stopped = true;
      unsubscribe?.();
      clearTimeout(retryTimer);
      clearTimeout(flushTimer);
      offConnected();
      offConnecting();
      offClosed();
    };
  }, [workflowId, client, reloadKey]);

  return state;
}
