import dagre from "@dagrejs/dagre";
import { isFailedNode, type ViewBranch, type ViewNode, type WorkflowModel } from "./model";

/**
 * From the viewer's model to positioned boxes and edges: the tree top-down with dagre, branches
 * coloured, collapsed branches folded into their first node. Pure (no DOM, no React), so the unit
 * tier tests it (test/unit/viewer-layout.test.ts); the canvas only maps the result to React Flow.
 */

/** What a node's card shows (a type alias, so React Flow takes it as node data). */
export type CardData = {
  node: ViewNode;
  /** The colour of the node's branch. */
  color: string;
  /** The branch's name, on the first node drawn of each branch (null on the others). */
  branchLabel: string | null;
  /** How many nodes are folded into this one (its collapsed branch and what hangs below it). */
  hiddenCount: number;
  failed: boolean;
  /** A DECISION with no option chosen yet. */
  pending: boolean;
};

/** A positioned card; x and y are its top-left corner. */
export interface LayoutNode {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  data: CardData;
}

/**
 * `parent`: the tree (PARENT_OF); `option`: a decision's option that is a node of another part of
 * the tree (dotted); `monitor`: a monitor and a node it watches (dotted).
 */
export type EdgeKind = "parent" | "option" | "monitor";

/** An edge between two drawn cards. */
export interface LayoutEdge {
  id: string;
  source: string;
  target: string;
  kind: EdgeKind;
  color: string;
  /** The chosen option's edge. */
  chosen: boolean;
  label: string | null;
}

/** The result of {@link buildLayout}. */
export interface WorkflowLayout {
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  /** Every known branch's colour, by branch id. */
  branchColors: ReadonlyMap<string, string>;
  /** How many nodes are folded away by collapsed branches. */
  hiddenCount: number;
}

/** Options of {@link buildLayout}. */
export interface LayoutOptions {
  /** Branches to fold into their first node, with everything that forks from them. */
  collapsed?: ReadonlySet<string>;
}

export const CARD_WIDTH = 200;
export const CARD_HEIGHT = 64;
/** Decisions are drawn as diamonds, which need more height for the same text. */
export const DECISION_HEIGHT = 84;
const UNKNOWN_BRANCH_COLOR = "#6b7280";

/**
 * Above this many drawn nodes the tree is laid out by {@link treeLayout}: dagre's network-simplex
 * ranking and crossing reduction grow faster than linearly (measured on one busy core: 0.3 s for
 * 200 nodes, 1.2 s for 700, 7 s for 5,000), while a tree needs neither: the tidy tree lays out
 * 5,000 nodes in about 0.1 s.
 */
export const DAGRE_MAX_NODES = 400;
const NODE_GAP = 24;
const RANK_GAP = 48;

/** A card's top-left corner and size. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const heightOf = (node: ViewNode) => (node.type === "DECISION" ? DECISION_HEIGHT : CARD_HEIGHT);

/** dagre, top-down, on the tree edges only (dotted edges must not move the tree). */
export function dagreLayout(nodes: readonly ViewNode[]): Map<string, Box> {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "TB", nodesep: NODE_GAP, ranksep: RANK_GAP, marginx: 16, marginy: 16 });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const node of nodes) graph.setNode(node.id, { width: CARD_WIDTH, height: heightOf(node) });
  for (const node of nodes) if (node.parentId && ids.has(node.parentId)) graph.setEdge(node.parentId, node.id);
  dagre.layout(graph);
  const boxes = new Map<string, Box>();
  for (const node of nodes) {
    const { x, y, width, height } = graph.node(node.id);
    boxes.set(node.id, { x: x - width / 2, y: y - height / 2, width, height });
  }
  return boxes;
}

/**
 * A tidy tree in linear time, for large workflows: one row per depth, each subtree as wide as its
 * children side by side, a parent centred over its children, children in seq order. `nodes` are in
 * seq order (parents first); a node whose parent is not among them starts a tree of its own.
 */
export function treeLayout(nodes: readonly ViewNode[]): Map<string, Box> {
  const children = new Map<string, ViewNode[]>();
  const roots: ViewNode[] = [];
  const ids = new Set(nodes.map((n) => n.id));
  for (const node of nodes) {
    if (node.parentId && ids.has(node.parentId)) {
      const list = children.get(node.parentId);
      if (list) list.push(node);
      else children.set(node.parentId, [node]);
    } else roots.push(node);
  }
  // Subtree widths, children before parents: reverse seq order visits every child first.
  const width = new Map<string, number>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const kids = children.get(node.id) ?? [];
    const sum = kids.reduce((total, kid) => total + width.get(kid.id)!, 0) + NODE_GAP * Math.max(0, kids.length - 1);
    width.set(node.id, Math.max(CARD_WIDTH, sum));
  }
  const rowHeight = DECISION_HEIGHT + RANK_GAP;
  const boxes = new Map<string, Box>();
  // Iterative, so a chain thousands of nodes deep cannot overflow the stack.
  const stack: { node: ViewNode; left: number; rank: number }[] = [];
  let left = 16;
  for (const root of roots) {
    stack.push({ node: root, left, rank: 0 });
    left += width.get(root.id)! + NODE_GAP;
  }
  while (stack.length) {
    const { node, left: start, rank } = stack.pop()!;
    const span = width.get(node.id)!;
    const height = heightOf(node);
    boxes.set(node.id, {
      x: start + (span - CARD_WIDTH) / 2,
      y: 16 + rank * rowHeight + (DECISION_HEIGHT - height) / 2,
      width: CARD_WIDTH,
      height,
    });
    const kids = children.get(node.id) ?? [];
    const used = kids.reduce((total, kid) => total + width.get(kid.id)!, 0) + NODE_GAP * Math.max(0, kids.length - 1);
    let x = start + (span - used) / 2;
    for (const kid of kids) {
      stack.push({ node: kid, left: x, rank: rank + 1 });
      x += width.get(kid.id)! + NODE_GAP;
    }
  }
  return boxes;
}

/** The colour of the branch at `index` in creation order: hues spread by the golden angle. */
export function branchColor(index: number): string {
  const hue = Math.round((index * 137.508 + 210) % 360);
  return `hsl(${hue} 62% 40%)`;
}

/** Branches in creation order (seq, then name for branches of one write). */
export function orderedBranches(model: WorkflowModel): ViewBranch[] {
  return [...model.branches.values()].sort((a, b) => a.seq - b.seq || a.name.localeCompare(b.name));
}

/** Lays the model out top-down. */
export function buildLayout(model: WorkflowModel, options: LayoutOptions = {}): WorkflowLayout {
  const collapsed = options.collapsed ?? new Set<string>();
  const branchColors = new Map(orderedBranches(model).map((b, i) => [b.id, branchColor(i)]));
  const colorOf = (branchId: string) => branchColors.get(branchId) ?? UNKNOWN_BRANCH_COLOR;

  // Parents have lower seqs than their children, so one pass in seq order settles every node.
  const nodes = [...model.nodes.values()].sort((a, b) => a.seq - b.seq);
  /** The drawn node each node is shown as: itself, or the card it is folded into. */
  const anchor = new Map<string, string>();
  const hiddenBelow = new Map<string, number>();
  const visible: ViewNode[] = [];
  for (const node of nodes) {
    const parent = node.parentId ? model.nodes.get(node.parentId) : undefined;
    const parentAnchor = parent ? anchor.get(parent.id) : undefined;
    const folded =
      parent !== undefined &&
      parentAnchor !== undefined &&
      (parentAnchor !== parent.id || collapsed.has(parent.branchId));
    if (folded) {
      anchor.set(node.id, parentAnchor);
      hiddenBelow.set(parentAnchor, (hiddenBelow.get(parentAnchor) ?? 0) + 1);
    } else {
      anchor.set(node.id, node.id);
      visible.push(node);
    }
  }

  const edges: LayoutEdge[] = [];
  const labelled = new Set<string>();
  const chosenOf = new Map<string, string | null>();
  for (const decision of model.decisions.values()) chosenOf.set(decision.decisionId, decision.chosenId);
  for (const node of visible) {
    if (!node.parentId || !anchor.has(node.parentId)) continue;
    const chosenId = chosenOf.get(node.parentId);
    const isOption = chosenId !== undefined && node.type === "OPTION";
    edges.push({
      id: `p:${node.id}`,
      source: node.parentId,
      target: node.id,
      kind: "parent",
      color: colorOf(node.branchId),
      chosen: isOption && chosenId === node.id,
      label: isOption && chosenId === node.id ? "chosen" : null,
    });
  }

  const dotted = (kind: EdgeKind, from: string, to: string, chosen: boolean, label: string) => {
    const source = anchor.get(from);
    const target = anchor.get(to);
    if (!source || !target || source === target) return;
    const id = `${kind === "option" ? "o" : "m"}:${source}:${target}`;
    if (labelled.has(id)) return;
    labelled.add(id);
    const color = colorOf(model.nodes.get(from)?.branchId ?? "");
    edges.push({ id, source, target, kind, color, chosen, label });
  };
  for (const decision of model.decisions.values()) {
    for (const optionId of decision.optionIds) {
      // An option written under the decision is drawn by its tree edge above.
      if (model.nodes.get(optionId)?.parentId === decision.decisionId) continue;
      const chosen = decision.chosenId === optionId;
      dotted("option", decision.decisionId, optionId, chosen, chosen ? "chosen" : "option");
    }
  }
  for (const link of model.monitors.values()) dotted("monitor", link.monitorId, link.targetId, false, "monitors");

  const boxes = visible.length <= DAGRE_MAX_NODES ? dagreLayout(visible) : treeLayout(visible);

  const labelledBranches = new Set<string>();
  const laidOut: LayoutNode[] = visible.map((node) => {
    const box = boxes.get(node.id)!;
    const firstOfBranch = !labelledBranches.has(node.branchId);
    labelledBranches.add(node.branchId);
    const decision = node.type === "DECISION" ? model.decisions.get(node.id) : undefined;
    return {
      id: node.id,
      ...box,
      data: {
        node,
        color: colorOf(node.branchId),
        branchLabel: firstOfBranch ? (model.branches.get(node.branchId)?.name ?? null) : null,
        hiddenCount: hiddenBelow.get(node.id) ?? 0,
        failed: isFailedNode(node),
        pending: node.type === "DECISION" && (decision?.chosenId ?? null) === null,
      },
    };
  });

  return { nodes: laidOut, edges, branchColors, hiddenCount: nodes.length - visible.length };
}
