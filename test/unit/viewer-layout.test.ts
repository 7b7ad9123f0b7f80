import { describe, expect, it } from "@jest/globals";
import {
  buildLayout,
  CARD_WIDTH,
  DAGRE_MAX_NODES,
  treeLayout,
  type LayoutEdge,
  type LayoutNode,
} from "../../src/web/viewer/layout";
import { modelFromLoad, toViewNode, type NodeData } from "../../src/web/viewer/model";

const node = (id: string, seq: number, parentId: string | null, fields: Partial<NodeData> = {}): NodeData => ({
  id,
  branchId: "main",
  type: "MESSAGE",
  content: id,
  timestamp: "2026-01-01T00:00:00.000Z",
  seq,
  depth: 0,
  parent: parentId === null ? null : { id: parentId },
  ...fields,
});

/** root → m → d(ecision) → o1 (branch b1) → x, o2 (branch b2) → y; mon (on b1) watches y; d2 offers y. */
function sample() {
  return modelFromLoad({
    workflowId: "w",
    lastSeq: 9,
    nodes: [
      node("root", 0, null, { type: "SYSTEM" }),
      node("m", 1, "root"),
      node("d", 2, "m", { type: "DECISION" }),
      node("o1", 3, "d", { type: "OPTION", branchId: "b1" }),
      node("o2", 4, "d", { type: "OPTION", branchId: "b2" }),
      node("x", 5, "o1", { branchId: "b1", metadata: { error: "boom" } }),
      node("y", 6, "o2", { branchId: "b2" }),
      node("mon", 7, "x", { type: "MONITOR", branchId: "b1" }),
      node("d2", 8, "mon", { type: "DECISION", branchId: "b1" }),
    ],
    branches: [
      { id: "main", name: "main", status: "ACTIVE", seq: 0, length: 3 },
      { id: "b1", name: "option: o1", status: "ACTIVE", seq: 3, length: 4 },
      { id: "b2", name: "option: o2", status: "ACTIVE", seq: 4, length: 2 },
    ],
    decisions: [
      { decision: { id: "d" }, options: [{ id: "o1" }, { id: "o2" }], chosen: { id: "o1" } },
      { decision: { id: "d2" }, options: [{ id: "y" }], chosen: null },
    ],
    monitors: [{ monitor: { id: "mon" }, target: { id: "y" } }],
  });
}

const byId = (nodes: LayoutNode[]) => new Map(nodes.map((n) => [n.id, n]));
const edge = (edges: LayoutEdge[], id: string) => edges.find((e) => e.id === id);

describe("viewer layout", () => {
  it("lays the tree out top-down: every child below its parent", () => {
    const layout = buildLayout(sample());
    const nodes = byId(layout.nodes);
    for (const n of layout.nodes) {
      const parentId = n.data.node.parentId;
      if (parentId) expect(n.y).toBeGreaterThan(nodes.get(parentId)!.y + nodes.get(parentId)!.height - 1);
    }
    // Siblings side by side, not on top of each other.
    expect(Math.abs(nodes.get("o1")!.x - nodes.get("o2")!.x)).toBeGreaterThanOrEqual(CARD_WIDTH);
  });

  it("colours each branch, labels its first node, and marks failed and pending nodes", () => {
    const layout = buildLayout(sample());
    const nodes = byId(layout.nodes);
    expect(new Set(layout.branchColors.values()).size).toBe(3);
    expect(nodes.get("o1")!.data.color).toBe(layout.branchColors.get("b1"));
    expect(nodes.get("root")!.data.branchLabel).toBe("main");
    expect(nodes.get("o1")!.data.branchLabel).toBe("option: o1");
    expect(nodes.get("x")!.data.branchLabel).toBeNull();
    expect(nodes.get("x")!.data.failed).toBe(true);
    expect(nodes.get("y")!.data.failed).toBe(false);
    expect(nodes.get("d")!.data.pending).toBe(false);
    expect(nodes.get("d2")!.data.pending).toBe(true);
  });

  it("draws the chosen option's edge bold, other branches' options and monitors dotted", () => {
    const { edges } = buildLayout(sample());
    expect(edge(edges, "p:o1")).toMatchObject({ kind: "parent", chosen: true, label: "chosen" });
    expect(edge(edges, "p:o2")).toMatchObject({ kind: "parent", chosen: false });
    expect(edge(edges, "o:d2:y")).toMatchObject({ kind: "option", chosen: false, label: "option" });
    expect(edge(edges, "m:mon:y")).toMatchObject({ kind: "monitor", label: "monitors" });
    // The tree has one edge per non-root node; the two dotted edges come on top.
    expect(edges.filter((e) => e.kind === "parent")).toHaveLength(8);
    expect(edges).toHaveLength(10);
  });

  it("folds a collapsed branch into its first node, with what forks from it, and redirects its edges", () => {
    const layout = buildLayout(sample(), { collapsed: new Set(["b1"]) });
    const nodes = byId(layout.nodes);
    expect([...nodes.keys()].sort()).toEqual(["d", "m", "o1", "o2", "root", "y"]);
    expect(nodes.get("o1")!.data.hiddenCount).toBe(3);
    expect(layout.hiddenCount).toBe(3);
    // The monitor and the decision in b1 now start at the folded card.
    expect(edge(layout.edges, "m:o1:y")).toBeDefined();
    expect(edge(layout.edges, "o:o1:y")).toBeDefined();
    expect(layout.edges.every((e) => nodes.has(e.source) && nodes.has(e.target))).toBe(true);
  });

  it("folds everything into the root when the main branch is collapsed", () => {
    const layout = buildLayout(sample(), { collapsed: new Set(["main"]) });
    expect(layout.nodes.map((n) => n.id)).toEqual(["root"]);
    expect(layout.nodes[0]!.data.hiddenCount).toBe(8);
  });

  it("lays out thousands of nodes with the linear tree layout, without overlaps in a row", () => {
    const nodes: NodeData[] = [node("n0", 0, null, { type: "SYSTEM" })];
    for (let i = 1; i < 5000; i++) nodes.push(node(`n${i}`, i, `n${i % 7 === 0 ? Math.floor(i / 2) : i - 1}`));
    const model = modelFromLoad({ workflowId: "w", lastSeq: 4999, nodes, branches: [], decisions: [], monitors: [] });
    expect(model.nodes.size).toBeGreaterThan(DAGRE_MAX_NODES);
    const layout = buildLayout(model);
    expect(layout.nodes).toHaveLength(5000);
    const rows = new Map<number, LayoutNode[]>();
    for (const n of layout.nodes) rows.set(n.y, [...(rows.get(n.y) ?? []), n]);
    for (const row of rows.values()) {
      const xs = row.map((n) => n.x).sort((a, b) => a - b);
      for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!).toBeGreaterThanOrEqual(CARD_WIDTH);
    }
  });

  it("tree layout centres a parent over its children", () => {
    const boxes = treeLayout([
      toViewNode(node("r", 0, null)),
      toViewNode(node("a", 1, "r")),
      toViewNode(node("b", 2, "r")),
    ]);
    const centre = (id: string) => boxes.get(id)!.x + boxes.get(id)!.width / 2;
    expect(centre("r")).toBeCloseTo((centre("a") + centre("b")) / 2);
    expect(boxes.get("a")!.y).toBeGreaterThan(boxes.get("r")!.y);
  });
});
