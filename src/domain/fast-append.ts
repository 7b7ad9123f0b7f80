import type { AccessScope } from "../auth/access-scope";
import { auditEntry } from "./audit";
import { usageOf, usageProperties } from "./analytics/usage";
import { visibleWorkflow } from "./hidden-workflow";
import { PRUNING_BRANCH } from "./pruning-branch";
import { GRANTS_OF_W } from "./workflow-access";
import type { StatementRunner } from "../infra/neo4j";
import { nodeEventKind } from "./workflow-event";
import type { StoredNode } from "./workflow-node";
import type { NodeSpec } from "./write-plan";
import type { WriteResult } from "./append-nodes";

/**
 * The usage totals of one node added to `x` (a {@link UsageTotals} map): the Cypher form of
 * `addUsage(x, usage)`, with `$delta` the node's usage (zeros where it records none).
 */
const ADD_USAGE = (x: string) =>
  `{nodes: ${x}.nodes + 1, calls: ${x}.calls + $delta.calls, inputTokens: ${x}.inputTokens + $delta.inputTokens,
    outputTokens: ${x}.outputTokens + $delta.outputTokens, costUsd: ${x}.costUsd + $delta.costUsd,
    latencyMs: ${x}.latencyMs + $delta.latencyMs}`;
const NO_USAGE = "{nodes: 0, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, latencyMs: 0}";
/** `key` of list element `e` equals `$value`, null matching null (as `===` does in countNode). */
const SAME = (e: string, key: string, value: string) =>
  `(${e}.${key} = ${value} OR (${e}.${key} IS NULL AND ${value} IS NULL))`;

/**
 * The common append in one statement (one round trip): locks the workflow, reads what the rules
 * need (grants, restricted branches, the parent and its branch), and, only when the append is the
 * plain case, writes it: the node with the next seq under a parent that is the head of its branch,
 * the branch's new head, the workflow's counters and analytics counters (`countNode` in Cypher,
 * on the same JSON text), and the audit entry. Any other case (an id that exists, a fork, a
 * missing or hidden parent, a workflow not RUNNING, too little access) writes nothing: the caller
 * then plans it in full with the write plan, which gives the same result
 * or error as before. The access rules are those of accessOf, includes and hidingRootsIn /
 * hiddenByLineage (workflow-access.ts, visibility.ts), written in Cypher: keep them in step.
 */
const FAST_APPEND = `
MATCH (w:Workflow {id: $node.workflowId}) WHERE ${visibleWorkflow("w")}
CALL apoc.lock.nodes([w])
WITH w, ${GRANTS_OF_W} AS grants,
  COLLECT { MATCH (r:RestrictedBranch {workflowId: w.id}) RETURN r {.id, .restrictedTo} } AS restricted
OPTIONAL MATCH (existing:WorkflowNode {id: $node.id})
OPTIONAL MATCH (parent:WorkflowNode {id: $parentId})
OPTIONAL MATCH (b:Branch {id: parent.branchId}) WHERE NOT b:${PRUNING_BRANCH}
WITH w, grants, restricted, existing, parent, b,
  $admin OR any(g IN grants WHERE g.principal IN $principals AND g.access = 'OWNER') AS owner
WITH w, grants, restricted, parent, b,
  existing IS NULL AND parent IS NOT NULL AND b IS NOT NULL AND parent.workflowId = w.id
  AND b.headId = parent.id AND ($branchId IS NULL OR $branchId = b.id)
  AND coalesce(w.status, 'RUNNING') = 'RUNNING'
  AND ($admin OR any(g IN grants WHERE g.principal IN $principals AND g.access IN ['WRITE', 'OWNER']))
  AND (owner OR none(r IN restricted WHERE r.id IN coalesce(b.lineage, [])
    AND size(coalesce(r.restrictedTo, [])) > 0 AND none(p IN r.restrictedTo WHERE p IN $principals))) AS plain
OPTIONAL CALL (w, parent, b, plain) {
  WITH * WHERE plain
  SET w.lastSeq = coalesce(w.lastSeq, 0) + 1, w.nodeCount = coalesce(w.nodeCount, 0) + 1,
      w.branchCount = coalesce(w.branchCount, 1)
  CREATE (parent)-[:PARENT_OF]->(n:WorkflowNode)
  SET n = $node, n.branchId = b.id, n.seq = w.lastSeq, n.depth = parent.depth + 1,
      n.timestamp = datetime($timestamp), n += $usage
  SET b.headId = n.id, b.length = b.length + 1
  WITH w, b, n
  CALL (w) {
    WITH w WHERE w.stats IS NOT NULL
    WITH w, apoc.convert.fromJsonMap(w.stats) AS s
    SET w.stats = apoc.convert.toJson({
      types: apoc.map.setKey(s.types, $node.type, coalesce(s.types[$node.type], 0) + 1),
      restrictedNodes: s.restrictedNodes + CASE WHEN $node.restrictedTo IS NULL THEN 0 ELSE 1 END,
      usage: ${ADD_USAGE("s.usage")},
      agents: CASE WHEN any(a IN s.agents WHERE ${SAME("a", "agentId", "$node.agentId")})
        THEN [a IN s.agents | CASE WHEN ${SAME("a", "agentId", "$node.agentId")}
          THEN {agentId: a.agentId, usage: ${ADD_USAGE("a.usage")}} ELSE a END]
        ELSE s.agents + [{agentId: $node.agentId, usage: ${ADD_USAGE(NO_USAGE)}}] END,
      models: CASE WHEN NOT $hasUsage THEN s.models
        WHEN any(m IN s.models WHERE ${SAME("m", "model", "$model")})
        THEN [m IN s.models | CASE WHEN ${SAME("m", "model", "$model")}
          THEN {model: m.model, usage: ${ADD_USAGE("m.usage")}} ELSE m END]
        ELSE s.models + [{model: $model, usage: ${ADD_USAGE(NO_USAGE)}}] END
    })
  }
  CALL (b) {
    UNWIND $audit AS entry
    CREATE (a:AuditEntry)
    SET a = entry, a.at = datetime(entry.at), a.targetIds = entry.targetIds + [b.id]
  }
  RETURN n.seq AS seq, n.depth AS depth
}
RETURN plain, b.id AS branchId, b.lineage AS lineage, seq, depth`;

/**
 * Appends one node in one statement when it is the plain case (see FAST_APPEND); null when it is
 * not, having written nothing: the caller then runs the full write plan. The statement is its own
 * transaction (see singleStatement): one round trip for the common append.
 */
export async function fastAppend(
  tx: StatementRunner,
  spec: NodeSpec,
  caller: AccessScope,
): Promise<WriteResult | null> {
  const timestamp = new Date().toISOString();
  const usage = usageOf(spec.metadata);
  const entry = auditEntry(caller, { workflowIds: [spec.workflowId], targetIds: [spec.id] });
  const result = await tx.run(FAST_APPEND, {
    node: {
      id: spec.id,
      workflowId: spec.workflowId,
      type: spec.type,
      content: spec.content,
      metadata: spec.metadata,
      agentId: spec.agentId,
      userId: spec.userId,
      restrictedTo: spec.restrictedTo ?? null,
      writtenBy: spec.writtenBy ?? null,
    },
    parentId: spec.parentId,
    branchId: spec.branchId,
    timestamp,
    usage: usageProperties(usage),
    hasUsage: usage !== null,
    model: usage?.model ?? null,
    delta: {
      calls: usage ? 1 : 0,
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      costUsd: usage?.costUsd ?? 0,
      latencyMs: usage?.latencyMs ?? 0,
    },
    admin: caller.admin,
    principals: [...caller.principals],
    audit: entry ? [entry] : [],
  });
  const record = result.records[0];
  if (!record?.get("plain")) return null;
  const lineage = record.get("lineage") as string[] | null;
  const node: StoredNode = {
    id: spec.id,
    workflowId: spec.workflowId,
    branchId: String(record.get("branchId")),
    type: spec.type,
    content: spec.content,
    metadata: spec.metadata,
    timestamp,
    seq: Number(record.get("seq")),
    depth: Number(record.get("depth")),
    agentId: spec.agentId,
    userId: spec.userId,
    parentId: spec.parentId,
    watchBranchIds: null,
    restrictedTo: spec.restrictedTo ?? null,
    writtenBy: spec.writtenBy ?? null,
  };
  return {
    nodes: [node],
    events: [
      {
        kind: nodeEventKind(spec.type),
        seq: node.seq,
        workflowId: node.workflowId,
        at: timestamp,
        node,
        branchId: node.branchId,
        lineage: lineage ?? [node.branchId],
      },
    ],
  };
}
