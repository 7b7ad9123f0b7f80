import { useEffect, useState } from "react";
import { request, RequestError } from "./api";
import { lastActivityQuery, WORKFLOWS } from "./documents";
import type { ApiError } from "./errors";

interface WorkflowRow {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  lastSeq: number;
  nodeCount: number;
}

const STATUSES = ["RUNNING", "COMPLETED", "FAILED", "CANCELLED"];
/** Rows listed: the newest this many. */
const LIMIT = 100;
/** Workflows per last-activity request (the API allows 30 aliases an operation). */
const ACTIVITY_BATCH = 25;

/** Reads when each workflow's newest event happened, a batch of aliases at a time. */
async function lastActivity(rows: WorkflowRow[]): Promise<Map<string, string>> {
  const times = new Map<string, string>();
  for (let start = 0; start < rows.length; start += ACTIVITY_BATCH) {
    const batch = rows.slice(start, start + ACTIVITY_BATCH);
    const variables: Record<string, unknown> = {};
    batch.forEach((row, i) => {
      variables[`w${i}`] = row.id;
      variables[`s${i}`] = row.lastSeq > 0 ? row.lastSeq - 1 : null;
    });
    const data = await request<Record<string, { at: string }[]>>(lastActivityQuery(batch.length), variables);
    batch.forEach((row, i) => {
      const at = data[`a${i}`]?.[0]?.at;
      if (at) times.set(row.id, at);
    });
  }
  return times;
}

/** Props of {@link WorkflowList}. */
export interface WorkflowListProps {
  reloadKey: number;
}

/** The workflows, newest first: name, status, last activity, node count; filtered by name and status. */
export function WorkflowList({ reloadKey }: WorkflowListProps) {
  const [name, setName] = useState("");
  const [status, setStatus] = useState("");
  const [rows, setRows] = useState<WorkflowRow[] | null>(null);
  const [activity, setActivity] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<ApiError | null>(null);
  const [refresh, setRefresh] = useState(0);

  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      const where: Record<string, unknown> = {};
      if (name.trim()) where.name = { contains: name.trim() };
      if (status) where.status = { eq: status };
      request<{ workflows: WorkflowRow[] }>(WORKFLOWS, { where, limit: LIMIT })
        .then(async ({ workflows }) => {
          if (!current) return;
          setRows(workflows);
          setError(null);
          const times = await lastActivity(workflows);
          if (current) setActivity(times);
        })
        .catch((caught: unknown) => {
          if (current)
            setError(caught instanceof RequestError ? caught.error : { code: "ERROR", message: String(caught) });
        });
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [name, status, refresh, reloadKey]);

  return (
    <section className="workflow-list">
      <div className="filters">
        <input
          type="search"
          placeholder="Filter by name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-label="Filter by name"
        />
        <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Filter by status">
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {error && <p className="error banner">{error.message}</p>}
      {rows && rows.length === 0 && <p className="hint">No workflows match.</p>}
      {rows && rows.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Last activity</th>
              <th className="num">Nodes</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} data-workflow-id={row.id}>
                <td>
                  <a href={`#/workflows/${row.id}`}>{row.name}</a>
                </td>
                <td>
                  <span className={`status status-${row.status.toLowerCase()}`}>{row.status.toLowerCase()}</span>
                </td>
                <td>{activity.has(row.id) ? new Date(activity.get(row.id)!).toLocaleString() : "…"}</td>
                <td className="num">{row.nodeCount}</td>
                <td>{new Date(row.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
