import { useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  MarkerType,
  MiniMap,
  Position,
  ReactFlow,
  type Edge,
  type ReactFlowInstance,
} from "@xyflow/react";
import type { CardNode } from "./node-card";
import { NodeCard } from "./node-card";
import type { WorkflowLayout } from "./layout";

const nodeTypes = { card: NodeCard };

/** Above this many drawn cards the view opens on the root rather than fitting everything (too small to read). */
const FIT_ALL_MAX = 150;
/** Below this many cards all are mounted: culling costs more than it saves, and none pops in late. */
const VISIBLE_ONLY_MIN = 300;
/** The minimap draws every card: past this many it costs more than it helps. */
const MINIMAP_MAX = 400;

/** Props of {@link WorkflowCanvas}. */
export interface WorkflowCanvasProps {
  layout: WorkflowLayout;
  selectedId: string | null;
  onSelect: (nodeId: string | null) => void;
}

/**
 * The tree on a pannable, zoomable canvas. On large workflows only the cards in view are mounted
 * (`onlyRenderVisibleElements`), so a workflow of thousands of nodes pans like a small one; it
 * opens on its first nodes instead of fitting all of them (which would put every card in view).
 */
export function WorkflowCanvas({ layout, selectedId, onSelect }: WorkflowCanvasProps) {
  const nodes = useMemo<CardNode[]>(
    () =>
      layout.nodes.map((n) => ({
        id: n.id,
        type: "card",
        position: { x: n.x, y: n.y },
        width: n.width,
        height: n.height,
        // Size and handles are known: given here, React Flow culls the cards out of view from the
        // first render instead of mounting every one once to measure it (2 s for 5,000 nodes).
        measured: { width: n.width, height: n.height },
        handles: [
          { type: "target", position: Position.Top, x: n.width / 2, y: 0, width: 1, height: 1 },
          { type: "source", position: Position.Bottom, x: n.width / 2, y: n.height, width: 1, height: 1 },
        ],
        data: n.data,
        selected: n.id === selectedId,
        draggable: false,
        connectable: false,
      })),
    [layout, selectedId],
  );
  const edges = useMemo<Edge[]>(
    () =>
      layout.edges.map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        // Dotted links often point back up the tree: a straight line reads better than a looping curve.
        type: e.kind === "parent" ? "smoothstep" : "straight",
        className: `edge-${e.kind}${e.chosen ? " edge-chosen" : ""}`,
        label: e.label ?? undefined,
        style: {
          stroke: e.color,
          strokeWidth: e.chosen ? 4 : e.kind === "parent" ? 1.6 : 1.4,
          strokeDasharray: e.kind === "parent" ? undefined : "6 5",
        },
        // Marker sizes scale with the stroke: keep the bold edge's arrow the size of the others.
        markerEnd: {
          type: MarkerType.ArrowClosed,
          color: e.color,
          width: e.chosen ? 6 : 14,
          height: e.chosen ? 6 : 14,
        },
        focusable: false,
      })),
    [layout],
  );
  const wrapper = useRef<HTMLDivElement>(null);
  // Only the first layout decides where the view opens; later ones keep the user's viewport.
  const [fitAll] = useState(() => layout.nodes.length <= FIT_ALL_MAX);
  const openOnRoot = (instance: ReactFlowInstance<CardNode>) => {
    // React Flow fits the view once it has measured the cards, and culled cards are never
    // measured: open on the root (the first card) at 100 %, near the top, centred.
    const root = layout.nodes[0];
    if (fitAll || !root) return;
    const width = wrapper.current?.clientWidth ?? 1000;
    void instance.setViewport({ x: width / 2 - (root.x + root.width / 2), y: 32 - root.y, zoom: 1 });
  };
  return (
    <ReactFlow<CardNode>
      ref={wrapper}
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      onlyRenderVisibleElements={layout.nodes.length > VISIBLE_ONLY_MIN}
      fitView={fitAll}
      fitViewOptions={{ maxZoom: 1.1, padding: 0.15 }}
      onInit={openOnRoot}
      minZoom={0.05}
      nodesDraggable={false}
      nodesConnectable={false}
      edgesFocusable={false}
      onNodeClick={(_, node) => onSelect(node.id)}
      onPaneClick={() => onSelect(null)}
    >
      <Background gap={24} />
      <Controls showInteractive={false} />
      {layout.nodes.length <= MINIMAP_MAX && (
        <MiniMap
          position="top-right"
          style={{ width: 150, height: 100 }}
          pannable
          zoomable
          nodeColor={(n) => (n.data as CardNode["data"]).color}
        />
      )}
    </ReactFlow>
  );
}
