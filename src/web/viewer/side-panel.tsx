import { useEffect, useState } from "react";
import { request, RequestError, storedToken, tokenSubject } from "./api";
import { CHOOSE_OPTION, NODE_DETAILS } from "./documents";
import type { ApiError } from "./errors";
import { isFailedNode, pathToRoot, type ViewNode, type WorkflowModel } from "./model";

interface BranchDetails {
  id: string;
  name: string;
  status: string;
  length: number;
  summary: string;
  stats: {
    nodeCount: number;
    decisions: number;
    pendingDecisions: number;
    agents: string[];
    firstAt: string | null;
    lastAt: string | null;
  };
}

/** Props of {@link SidePanel}. */
export interface SidePanelProps {
  model: WorkflowModel;
  node: ViewNode;
  branchColor: string;
  /** Whether the user may decide (WRITE access, and looking at the live workflow, not the past). */
  canDecide: boolean;
  onSelect: (nodeId: string) => void;
}

const time = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "—");

/** Everything about the selected node: its fields, its path from the root, its branch; and deciding. */
export function SidePanel({ model, node, branchColor, canDecide, onSelect }: SidePanelProps) {
  const [details, setDetails] = useState<BranchDetails | null>(null);
  const [detailsError, setDetailsError] = useState<ApiError | null>(null);
  const branch = model.branches.get(node.branchId);
  const path = pathToRoot(model, node.id);
  const decision = node.type === "DECISION" ? model.decisions.get(node.id) : undefined;

  useEffect(() => {
    let current = true;
    setDetails(null);
    setDetailsError(null);
    request<{ branches: BranchDetails[] }>(NODE_DETAILS, { branchId: node.branchId })
      .then((data) => current && setDetails(data.branches[0] ?? null))
      .catch((error: unknown) => current && error instanceof RequestError && setDetailsError(error.error));
    return () => {
      current = false;
    };
    // The branch's stats change with every node appended to it: refresh with its length.
  }, [node.branchId, branch?.length]);

  return (
    <aside className="side-panel" aria-label="Selected node">
      <h2>
        <span className="card-type">{node.type}</span> #{node.seq}
        {isFailedNode(node) && <span className="badge badge-failed">failed</span>}
      </h2>
      <pre className="content">{node.content}</pre>
      <dl className="fields">
        <dt>Agent</dt>
        <dd>{node.agentId ?? "—"}</dd>
        <dt>User</dt>
        <dd>{node.userId ?? "—"}</dd>
        <dt>Time</dt>
        <dd>{time(node.timestamp)}</dd>
        <dt>Depth</dt>
        <dd>{node.depth}</dd>
        <dt>Id</dt>
        <dd className="mono">{node.id}</dd>
      </dl>
      {node.metadata && (
        <>
          <h3>Metadata</h3>
          <pre className="metadata">{JSON.stringify(node.metadata, null, 2)}</pre>
        </>
      )}
      {decision && (
        <DecisionSection
          decisionId={node.id}
          optionIds={decision.optionIds}
          chosenId={decision.chosenId}
          model={model}
          canDecide={canDecide}
          onSelect={onSelect}
        />
      )}
      <h3>Path from the root</h3>
      <ol className="path">
        {path.map((step) => (
          <li key={step.id}>
            <button type="button" className="link" onClick={() => onSelect(step.id)}>
              {step.type} #{step.seq}: {step.content.slice(0, 60)}
            </button>
          </li>
        ))}
      </ol>
      <h3>
        Branch <span className="swatch" style={{ background: branchColor }} /> {branch?.name ?? node.branchId}
      </h3>
      {detailsError && <p className="error">{detailsError.message}</p>}
      {details && (
        <>
          <dl className="fields">
            <dt>Status</dt>
            <dd>{details.status}</dd>
            <dt>Nodes</dt>
            <dd>{details.stats.nodeCount}</dd>
            <dt>Decisions</dt>
            <dd>
              {details.stats.decisions} ({details.stats.pendingDecisions} pending)
            </dd>
            <dt>Agents</dt>
            <dd>{details.stats.agents.join(", ") || "—"}</dd>
            <dt>First</dt>
            <dd>{time(details.stats.firstAt)}</dd>
            <dt>Last</dt>
            <dd>{time(details.stats.lastAt)}</dd>
          </dl>
          <pre className="summary">{details.summary}</pre>
        </>
      )}
    </aside>
  );
}

interface DecisionSectionProps {
  decisionId: string;
  optionIds: string[];
  chosenId: string | null;
  model: WorkflowModel;
  canDecide: boolean;
  onSelect: (nodeId: string) => void;
}

/** A decision's options; while it is pending, a form to choose one with a reason. */
function DecisionSection({ decisionId, optionIds, chosenId, model, canDecide, onSelect }: DecisionSectionProps) {
  const [optionId, setOptionId] = useState<string>("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const label = (id: string) => {
    const option = model.nodes.get(id);
    return option ? `${option.content.slice(0, 80)} (#${option.seq})` : id;
  };

  const choose = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const userId = tokenSubject(storedToken()) ?? "viewer";
      await request(CHOOSE_OPTION, { input: { decisionId, optionId, reason: reason.trim() || null, userId } });
      // The OPTION_CHOSEN event redraws the decision; nothing to update here.
    } catch (caught) {
      setError(caught instanceof RequestError ? caught.error : { code: "ERROR", message: String(caught) });
    } finally {
      setBusy(false);
    }
  };

  if (chosenId !== null || !canDecide) {
    return (
      <>
        <h3>Options</h3>
        <ul className="options">
          {optionIds.map((id) => (
            <li key={id} className={id === chosenId ? "chosen" : undefined}>
              <button type="button" className="link" onClick={() => onSelect(id)}>
                {label(id)}
              </button>
              {id === chosenId && <strong> — chosen</strong>}
            </li>
          ))}
        </ul>
        {chosenId === null && <p className="hint">Pending. Deciding needs WRITE access to this workflow.</p>}
      </>
    );
  }
  return (
    <form className="decide" onSubmit={choose} aria-label="Decide">
      <h3>Decide</h3>
      {optionIds.map((id) => (
        <label key={id} className="option">
          <input type="radio" name="option" value={id} checked={optionId === id} onChange={() => setOptionId(id)} />
          {label(id)}
        </label>
      ))}
      <textarea placeholder="Reason (optional)" value={reason} onChange={(e) => setReason(e.target.value)} rows={3} />
      <button type="submit" disabled={!optionId || busy}>
        {busy ? "Choosing…" : "Choose this option"}
      </button>
      {error && <p className="error">{error.message}</p>}
    </form>
  );
}
