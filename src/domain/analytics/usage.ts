/**
 * What LLM work cost, as the usage convention records it in a node's `metadata.usage` (checked by
 * `checkUsage` in validation.ts), and the per-workflow counters kept from it.
 */

/** The known fields of `metadata.usage`, each optional. */
export interface NodeUsage {
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  latencyMs: number | null;
}

/**
 * A node's usage, read from its stored metadata text (checked on write), or null when it records
 * none. The cheap substring test skips parsing for the many nodes without usage.
 */
export function usageOf(metadata: string | null): NodeUsage | null {
  if (metadata === null || !metadata.includes('"usage"')) return null;
  const usage = (JSON.parse(metadata) as { usage?: Record<string, unknown> | null }).usage;
  if (usage === null || usage === undefined || typeof usage !== "object") return null;
  const number = (value: unknown) => (typeof value === "number" ? value : null);
  const read: NodeUsage = {
    model: typeof usage.model === "string" ? usage.model : null,
    inputTokens: number(usage.inputTokens),
    outputTokens: number(usage.outputTokens),
    costUsd: number(usage.costUsd),
    latencyMs: number(usage.latencyMs),
  };
  // Usage that records none of the known fields counts as none (as a scan of the properties sees it).
  return Object.values(read).every((value) => value === null) ? null : read;
}

/**
 * The node properties a node's usage is also stored as, so that analytics aggregate them with
 * Cypher instead of parsing JSON: `usageModel`, `inputTokens`, `outputTokens`, `costUsd`,
 * `latencyMs` (absent when not recorded).
 */
export function usageProperties(usage: NodeUsage | null): Record<string, string | number> {
  if (!usage) return {};
  const properties: Record<string, string | number> = {};
  if (usage.model !== null) properties.usageModel = usage.model;
  for (const key of ["inputTokens", "outputTokens", "costUsd", "latencyMs"] as const) {
    if (usage[key] !== null) properties[key] = usage[key];
  }
  return properties;
}

/** Sums of usage over some nodes. */
export interface UsageTotals {
  /** Nodes counted. */
  nodes: number;
  /** Of those, the nodes that recorded usage. */
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
}

/** Totals of nothing. */
export const noUsage = (): UsageTotals => ({
  nodes: 0,
  calls: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  latencyMs: 0,
});

/** Adds `count` nodes with `usage` (summed over them) to `totals`, in place. */
export function addUsage(totals: UsageTotals, usage: NodeUsage | null, count = 1, calls = usage ? count : 0): void {
  totals.nodes += count;
  totals.calls += calls;
  totals.inputTokens += usage?.inputTokens ?? 0;
  totals.outputTokens += usage?.outputTokens ?? 0;
  totals.costUsd += usage?.costUsd ?? 0;
  totals.latencyMs += usage?.latencyMs ?? 0;
}

/**
 * A workflow's counters, kept as JSON text in the Workflow's `stats` property by every write (the
 * workflow is locked by then, so read-modify-write is safe): nodes by type, and usage in total, by
 * agent and by model. A workflow without `stats` (written before they existed, or imported) is
 * scanned instead; a write never starts them from zero on such a workflow.
 */
export interface WorkflowStats {
  /** Nodes by NodeType. */
  types: Record<string, number>;
  /** Nodes written with `restrictedTo`: their model is hidden from callers they are redacted for. */
  restrictedNodes: number;
  usage: UsageTotals;
  /** By agentId (null: no agent), in first-seen order. */
  agents: { agentId: string | null; usage: UsageTotals }[];
  /** By model of the nodes that recorded usage (null: no model named), in first-seen order. */
  models: { model: string | null; usage: UsageTotals }[];
}

/** The counters of a workflow with no nodes. */
export const emptyStats = (): WorkflowStats => ({
  types: {},
  restrictedNodes: 0,
  usage: noUsage(),
  agents: [],
  models: [],
});

/** Counts one new node in `stats`, in place. */
export function countNode(
  stats: WorkflowStats,
  node: { type: string; agentId: string | null; restrictedTo: readonly string[] | null },
  usage: NodeUsage | null,
): void {
  stats.types[node.type] = (stats.types[node.type] ?? 0) + 1;
  if (node.restrictedTo) stats.restrictedNodes += 1;
  addUsage(stats.usage, usage);
  let agent = stats.agents.find((a) => a.agentId === node.agentId);
  if (!agent) stats.agents.push((agent = { agentId: node.agentId, usage: noUsage() }));
  addUsage(agent.usage, usage);
  if (!usage) return;
  let model = stats.models.find((m) => m.model === usage.model);
  if (!model) stats.models.push((model = { model: usage.model, usage: noUsage() }));
  addUsage(model.usage, usage);
}
