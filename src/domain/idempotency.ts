import { conflict } from "../errors";
import type { StoredNode } from "./workflow-node";
import type { NodeSpec } from "./write-plan";

/** The fields of a node spec an idempotent retry must repeat. */
export type RetriedNode = Pick<
  NodeSpec,
  | "workflowId"
  | "parentId"
  | "type"
  | "content"
  | "metadata"
  | "agentId"
  | "userId"
  | "branchId"
  | "field"
  | "restrictedTo"
>;

/**
 * An idempotent retry must repeat the input: compares a stored node with a node spec (a retry that
 * names no branch matches whatever branch the node was put on), plus `extra` [field, stored,
 * requested] triples compared as JSON.
 * @throws CONFLICT naming the fields that differ.
 */
export function assertSameNode(stored: StoredNode, spec: RetriedNode, extra: [string, unknown, unknown][] = []): void {
  const differing = (
    [
      ["workflowId", stored.workflowId, spec.workflowId],
      ["parentId", stored.parentId, spec.parentId],
      ["type", stored.type, spec.type],
      ["content", stored.content, spec.content],
      ["metadata", stored.metadata, spec.metadata],
      ["agentId", stored.agentId, spec.agentId],
      ["userId", stored.userId, spec.userId],
      ["branchId", stored.branchId, spec.branchId ?? stored.branchId],
      ["restrictedTo", stored.restrictedTo ?? null, spec.restrictedTo ?? null],
      ...extra,
    ] as [string, unknown, unknown][]
  )
    .filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b))
    .map(([field]) => field);
  if (differing.length > 0) {
    throw conflict(`Node ${stored.id} already exists with a different ${differing.join(", ")}`, {
      field: `${spec.field}.id`,
      differing,
    });
  }
}

/** An option of a stored decision, as read back for a retry. */
export interface StoredOption {
  id: string;
  /** True when the decision created it (a new option, its child); false for an offered existing node. */
  created: boolean;
  content: string | null;
  metadata: string | null;
  agentId: string | null;
}

/** An option as a request offers it (validated). */
export type OfferedOption =
  | {
      kind: "new";
      id: string;
      /** True when the client named the id (else it was generated for this request). */
      clientId: boolean;
      content: string;
      metadata: string | null;
      agentId: string | null;
    }
  | { kind: "existing"; id: string };

/** An option as an idempotent retry compares it: what was offered, not how it was stored. */
export type OptionShape =
  | { kind: "new"; id: string | null; content: string; metadata: string | null; agentId: string | null }
  | { kind: "existing"; id: string };

/**
 * The stored decision's options and the retry's, as comparable lists (sorted the same way, so the
 * order offered does not matter): a stored new option whose id the retry does not name is compared
 * without its id, since the first request may have let it be generated.
 */
export function optionShapes(stored: StoredOption[], offered: OfferedOption[]): [OptionShape[], OptionShape[]] {
  const named = new Set(offered.flatMap((o) => (o.kind === "existing" ? [o.id] : o.clientId ? [o.id] : [])));
  const storedShapes = stored.map((o): OptionShape =>
    o.created
      ? {
          kind: "new",
          id: named.has(o.id) ? o.id : null,
          content: String(o.content),
          metadata: o.metadata,
          agentId: o.agentId,
        }
      : { kind: "existing", id: o.id },
  );
  const requested = offered.map((o): OptionShape =>
    o.kind === "existing"
      ? { kind: "existing", id: o.id }
      : { kind: "new", id: o.clientId ? o.id : null, content: o.content, metadata: o.metadata, agentId: o.agentId },
  );
  const canonical = (shapes: OptionShape[]) =>
    shapes
      .map((shape) => JSON.stringify(shape))
      .sort()
      .map((text) => JSON.parse(text) as OptionShape);
  return [canonical(storedShapes), canonical(requested)];
}

/**
 * A retried addDecision must repeat the decision and offer the same options.
 * @throws CONFLICT naming the fields that differ (`options` for the options).
 */
export function assertSameDecision(
  stored: StoredNode,
  spec: RetriedNode,
  storedOptions: StoredOption[],
  offered: OfferedOption[],
): void {
  const [was, now] = optionShapes(storedOptions, offered);
  assertSameNode(stored, spec, [["options", was, now]]);
}
