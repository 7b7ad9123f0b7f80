import { createHash } from "node:crypto";
import neo4j from "neo4j-driver";
import { conflict, notFound } from "../../errors";
import { readTransaction } from "../../infra/neo4j";
import { visibleWorkflow } from "../hidden-workflow";
import type { Store } from "../store";
import { normalizeId } from "../validation";
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  encodeProperties,
  floatKeysOf,
  type ArchiveCounts,
  type ArchiveLine,
} from "./archive-format";

/** Options of {@link exportWorkflow}. */
export interface ExportOptions {
  /**
   * Rows read per transaction: the export holds one page at a time, whatever the workflow's size.
   * @default 1000
   */
  pageSize?: number;
}

/** The whole stored node, its labels and which of its properties hold floats. */
const ENTITY = (x: string) => `{properties: properties(${x}), labels: labels(${x}), floats: ${floatKeysOf(x)}}`;

const READ_WORKFLOW = `
MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleWorkflow("w")}
RETURN ${ENTITY("w")} AS row, w.lastSeq AS lastSeq`;

// Keyset pages: each reads the index in order from where the last one ended and stops at $limit.
const READ_BRANCHES = `
MATCH (b:Branch {workflowId: $workflowId}) WHERE b.id > $after
WITH b ORDER BY b.id LIMIT $limit
RETURN b.id AS key, ${ENTITY("b")} AS row`;

const READ_NODES = `
MATCH (n:WorkflowNode) USING INDEX n:WorkflowNode(workflowId, seq)
WHERE n.workflowId = $workflowId AND n.seq > $after AND n.seq <= $lastSeq
WITH n ORDER BY n.workflowId ASC, n.seq ASC LIMIT $limit
RETURN n.seq AS key, ${ENTITY("n")} AS row`;

// The edges leaving one page of nodes, to nodes of the same workflow only, in a fixed order (by
// type, then target seq): the order Neo4j stores a node's edges in is not reproducible, so no
// query may depend on it (mermaid orders its edges itself).
const READ_EDGES = `
MATCH (n:WorkflowNode) USING INDEX n:WorkflowNode(workflowId, seq)
WHERE n.workflowId = $workflowId AND n.seq > $after AND n.seq <= $lastSeq
WITH n ORDER BY n.workflowId ASC, n.seq ASC LIMIT $limit
RETURN n.seq AS key, COLLECT {
  MATCH (n)-[r]->(m:WorkflowNode {workflowId: $workflowId})
  WITH r, m ORDER BY type(r), m.seq
  RETURN {type: type(r), from: n.id, to: m.id, properties: properties(r), floats: ${floatKeysOf("r")}}
} AS row`;

const READ_EVENTS = `
MATCH (e:WorkflowEvent) USING INDEX e:WorkflowEvent(workflowId, seq)
WHERE e.workflowId = $workflowId AND e.seq > $after AND e.seq <= $lastSeq
WITH e ORDER BY e.workflowId ASC, e.seq ASC LIMIT $limit
RETURN e.seq AS key, ${ENTITY("e")} AS row`;

const READ_GRANTS = `
MATCH (g:WorkflowGrant {workflowId: $workflowId}) WHERE g.principal > $after
WITH g ORDER BY g.principal LIMIT $limit
RETURN g.principal AS key, ${ENTITY("g")} AS row`;

interface Entity {
  properties: Record<string, unknown>;
  labels: string[];
  floats: string[];
}

interface EdgeRow {
  type: string;
  from: string;
  to: string;
  properties: Record<string, unknown>;
  floats: string[];
}

/**
 * Streams one workflow as NDJSON lines (each ending in "\n"; see {@link ArchiveLine} for the order),
 * reading it in keyset pages of `pageSize` rows so that memory stays flat whatever its size. Every
 * property of every stored node and edge is written, so a property added later is carried without
 * a change here; only nodes and edges of this workflow are read. Nodes and events are read up to
 * the workflow's `lastSeq` as the export starts; when the workflow changed meanwhile, the stream
 * fails before its `end` line (a file without it is refused by importWorkflow). The caller checks
 * the rights.
 * @throws GraphQLError NOT_FOUND before the first line when the workflow does not exist (or is
 * being imported or purged); CONFLICT before the end line when it was written to during the export.
 */
export async function* exportWorkflow(
  store: Store,
  workflowId: string,
  options: ExportOptions = {},
): AsyncGenerator<string, void, undefined> {
  const id = normalizeId(workflowId);
  const limit = options.pageSize ?? 1000;
  const read = async (statement: string, params: Record<string, unknown>) =>
    (await readTransaction(store.driver, store.database, (tx) => tx.run(statement, params))).records;
  const hash = createHash("sha256");
  const counts: ArchiveCounts = { branch: 0, node: 0, edge: 0, event: 0, grant: 0 };
  const line = (value: ArchiveLine) => {
    const text = `${JSON.stringify(value)}\n`;
    hash.update(text);
    return text;
  };

  const [workflow] = await read(READ_WORKFLOW, { workflowId: id });
  if (!workflow) throw notFound(`Workflow ${id} does not exist`, { field: "workflowId" });
  const lastSeq = Number(workflow.get("lastSeq"));
  yield line({
    kind: "header",
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    workflowId: id,
    exportedAt: new Date().toISOString(),
  });
  const w = workflow.get("row") as Entity;
  yield line({ kind: "workflow", labels: w.labels, properties: encodeProperties(w.properties, w.floats) });

  /** Every row of a keyset-paged statement, in order. */
  async function* pages<T>(statement: string, first: string | number): AsyncGenerator<T> {
    let after: string | number = first;
    for (;;) {
      const records = await read(statement, {
        workflowId: id,
        after: typeof after === "number" ? neo4j.int(after) : after,
        lastSeq: neo4j.int(lastSeq),
        limit: neo4j.int(limit),
      });
      for (const record of records) yield record.get("row") as T;
      if (records.length < limit) return;
      after = records[records.length - 1].get("key") as string | number;
    }
  }

  for await (const b of pages<Entity>(READ_BRANCHES, "")) {
    counts.branch += 1;
    yield line({ kind: "branch", labels: b.labels, properties: encodeProperties(b.properties, b.floats) });
  }
  for await (const n of pages<Entity>(READ_NODES, -1)) {
    counts.node += 1;
    yield line({ kind: "node", labels: n.labels, properties: encodeProperties(n.properties, n.floats) });
  }
  for await (const edges of pages<EdgeRow[]>(READ_EDGES, -1)) {
    for (const e of edges) {
      counts.edge += 1;
      yield line({
        kind: "edge",
        type: e.type,
        from: e.from,
        to: e.to,
        properties: encodeProperties(e.properties, e.floats),
      });
    }
  }
  for await (const e of pages<Entity>(READ_EVENTS, -1)) {
    counts.event += 1;
    yield line({ kind: "event", properties: encodeProperties(e.properties, e.floats) });
  }
  for await (const g of pages<Entity>(READ_GRANTS, "")) {
    counts.grant += 1;
    yield line({ kind: "grant", properties: encodeProperties(g.properties, g.floats) });
  }

  const [after] = await read(READ_WORKFLOW, { workflowId: id });
  if (!after || Number(after.get("lastSeq")) !== lastSeq) {
    throw conflict(`Workflow ${id} was written to during its export; export it again`);
  }
  yield `${JSON.stringify({ kind: "end", counts, sha256: hash.digest("hex") } satisfies ArchiveLine)}\n`;
}
