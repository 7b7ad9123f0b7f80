import { memo } from "react";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import type { CardData } from "./layout";

/** A React Flow node carrying a card. */
export type CardNode = Node<CardData, "card">;

const preview = (text: string) => (text.length > 90 ? `${text.slice(0, 87)}…` : text);

/**
 * One workflow node: a box with its branch's colour (a diamond for a decision), its type, seq,
 * agent and the start of its content; marked when it failed, when its decision is pending, and
 * when a collapsed branch is folded into it.
 */
export const NodeCard = memo(function NodeCard({ data, selected }: NodeProps<CardNode>) {
  const { node, color, branchLabel, hiddenCount, failed, pending } = data;
  const classes = ["card", `card-${node.type.toLowerCase()}`];
  if (failed) classes.push("card-failed");
  if (pending) classes.push("card-pending");
  if (selected) classes.push("card-selected");
  return (
    <div
      className={classes.join(" ")}
      style={{ "--branch": color } as React.CSSProperties}
      data-node-id={node.id}
      data-seq={node.seq}
      title={node.content}
    >
      <Handle type="target" position={Position.Top} isConnectable={false} />
      {node.type === "DECISION" && (
        <svg className="diamond" viewBox="0 0 200 84" preserveAspectRatio="none" aria-hidden="true">
          <polygon points="100,2 198,42 100,82 2,42" />
        </svg>
      )}
      {branchLabel !== null && <div className="branch-tag">{branchLabel}</div>}
      <div className="card-head">
        <span className="card-type">{node.type}</span>
        <span className="card-seq">#{node.seq}</span>
        {failed && <span className="badge badge-failed">failed</span>}
        {pending && <span className="badge badge-pending">pending</span>}
        {hiddenCount > 0 && <span className="badge badge-folded">+{hiddenCount}</span>}
      </div>
      <div className="card-content">{preview(node.content)}</div>
      {node.agentId && node.type !== "DECISION" && <div className="card-agent">{node.agentId}</div>}
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
});
