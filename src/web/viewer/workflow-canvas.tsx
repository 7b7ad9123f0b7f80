import { useMemo, useState } from "react";
import { Background, Controls, MarkerType, MiniMap, ReactFlow, type Edge } from "@xyflow/react";
import type { CardNode } from "./node-card";
import { NodeCard } from "./node-card";
import type { WorkflowLayout } from "./layout";

const nodeTypes = { card: NodeCard };

/** Above this many drawn cards the view opens on the root rather than fitting everything. */
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
        type: e.kind === "parent" ? "smoothstep" : "default",
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
  // Only the first layout decides where the view opens; later ones keep the user's viewport.
  const [fitViewOptions] = useState(() =>
    layout.nodes.length <= FIT_ALL_MAX
      ? { maxZoom: 1.1, padding: 0.15 }
      : { maxZoom: 1, padding: 0.1, nodes: layout.nodes.slice(0, 12).map((n) => ({ id: n.id })) },
  );
  return (
    <ReactFlow<CardNode>
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      onlyRenderVisibleElements={layout.nodes.length > VISIBLE_ONLY_MIN}
      fitView
      fitViewOptions={fitViewOptions}
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
