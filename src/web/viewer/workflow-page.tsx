import { useCallback, useMemo, useState } from "react";
import type { Client } from "graphql-ws";
import { request, RequestError } from "./api";
import { WORKFLOW_AT } from "./documents";
import type { ApiError } from "./errors";
import { buildLayout, orderedBranches } from "./layout";
import {
  modelFromLoad,
  type BranchData,
  type DecisionData,
  type MonitorData,
  type NodeData,
  type WorkflowModel,
} from "./model";
import { SidePanel } from "./side-panel";
import { TimeSlider } from "./time-slider";
import { useLiveWorkflow } from "./use-live-workflow";
import { WorkflowCanvas } from "./workflow-canvas";

interface Snapshot {
  seq: number;
  at: string;
  nodes: NodeData[];
  branches: { status: BranchData["status"]; length: number; branch: Omit<BranchData, "status" | "length"> }[];
  decisions: DecisionData[];
  monitors: MonitorData[];
}

/** Props of {@link WorkflowPage}. */
export interface WorkflowPageProps {
  workflowId: string;
  client: Client;
  reloadKey: number;
}

/**
 * One workflow: the tree, live; the branch legend (click to fold a branch); the side panel of the
 * selected node; the time slider.
 */
export function WorkflowPage({ workflowId, client, reloadKey }: WorkflowPageProps) {
  const live = useLiveWorkflow(workflowId, client, reloadKey);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [past, setPast] = useState<{ seq: number; at: string; model: WorkflowModel } | null>(null);
  const [travelError, setTravelError] = useState<ApiError | null>(null);

  const model = past?.model ?? live.model;
  const layout = useMemo(() => {
    if (!model) return null;
    const started = performance.now();
    const built = buildLayout(model, { collapsed });
    performance.measure("viewer:layout", { start: started, end: performance.now() });
    return built;
  }, [model, collapsed]);

  const travel = useCallback(
    async (seq: number | null) => {
      setTravelError(null);
      if (seq === null) {
        setPast(null);
        return;
      }
      try {
        const { workflowAt } = await request<{ workflowAt: Snapshot }>(WORKFLOW_AT, { workflowId, seq });
        const snapshot = modelFromLoad({
          workflowId,
          lastSeq: workflowAt.seq,
          nodes: workflowAt.nodes,
          branches: workflowAt.branches.map((b) => ({ ...b.branch, status: b.status, length: b.length })),
          decisions: workflowAt.decisions,
          monitors: workflowAt.monitors,
        });
        setPast({ seq: workflowAt.seq, at: workflowAt.at, model: snapshot });
      } catch (error) {
        setTravelError(error instanceof RequestError ? error.error : { code: "ERROR", message: String(error) });
      }
    },
    [workflowId],
  );

  const toggleBranch = (branchId: string) =>
    setCollapsed((current) => {
      const next = new Set(current);
      if (next.has(branchId)) next.delete(branchId);
      else next.add(branchId);
      return next;
    });

  const selected = selectedId && model ? model.nodes.get(selectedId) : undefined;
  const header = live.header;
  const canWrite = header?.myAccess === "WRITE" || header?.myAccess === "OWNER";

  return (
    <section
      className="workflow-page"
      data-last-seq={live.model?.lastSeq ?? -1}
      data-live={live.live}
      data-shown-seq={past?.seq ?? "live"}
      data-load-ms={live.loadMs === null ? undefined : Math.round(live.loadMs)}
    >
      <header className="workflow-header">
        <a href="#/">← Workflows</a>
        <h1>{header?.name ?? "…"}</h1>
        {header && <span className={`status status-${header.status.toLowerCase()}`}>{header.status}</span>}
        {header && <span>{header.nodeCount} nodes</span>}
        {live.model && (
          <span className={`live live-${live.live}`} title="Live stream">
            {live.live === "connected" ? "● live" : live.live === "connecting" ? "◌ connecting" : "○ offline"}
          </span>
        )}
        {layout && layout.hiddenCount > 0 && <span>{layout.hiddenCount} folded</span>}
      </header>
      {live.deleted && (
        <p className="error banner deleted-banner">
          This workflow was deleted. What is shown is how it stood; an owner or admin can restore it.
        </p>
      )}
      {live.error && <p className="error banner">{live.error.message}</p>}
      {live.streamError && <p className="error banner">{live.streamError.message}</p>}
      {travelError && <p className="error banner">{travelError.message}</p>}
      {live.progress && (
        <p className="loading">
          Loading nodes: {live.progress.loaded} of {live.progress.total}
        </p>
      )}
      {model && layout && (
        <div className="workflow-body">
          <nav className="legend" aria-label="Branches">
            <h2>Branches</h2>
            <ul>
              {orderedBranches(model).map((branch) => (
                <li key={branch.id}>
                  <button
                    type="button"
                    className={collapsed.has(branch.id) ? "branch collapsed" : "branch"}
                    onClick={() => toggleBranch(branch.id)}
                    title={collapsed.has(branch.id) ? "Unfold this branch" : "Fold this branch into its first node"}
                  >
                    <span className="swatch" style={{ background: layout.branchColors.get(branch.id) }} />
                    <span className="branch-name">{branch.name}</span>
                    <span className="branch-meta">
                      {branch.status === "ACTIVE" ? "" : `${branch.status.toLowerCase()} · `}
                      {branch.length}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </nav>
          <div className="canvas">
            <WorkflowCanvas layout={layout} selectedId={selectedId} onSelect={setSelectedId} />
          </div>
          {selected && (
            <SidePanel
              model={model}
              node={selected}
              branchColor={layout.branchColors.get(selected.branchId) ?? "#6b7280"}
              canDecide={canWrite && past === null}
              onSelect={setSelectedId}
            />
          )}
        </div>
      )}
      {live.model && (
        <footer>
          <TimeSlider lastSeq={live.model.lastSeq} seq={past?.seq ?? null} onSeq={travel} />
          {past && <span className="past-at">as of {new Date(past.at).toLocaleString()}</span>}
        </footer>
      )}
    </section>
  );
}
