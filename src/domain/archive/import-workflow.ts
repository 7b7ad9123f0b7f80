import { recordAudit } from "../audit";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { once } from "node:events";
import type { AccessScope } from "../../auth/access-scope";
import { badUserInput, conflict, forbidden } from "../../errors";
import { writeTransaction } from "../../infra/neo4j";
import { HIDDEN_WORKFLOW } from "../hidden-workflow";
import { purgeWorkflow } from "../retention/purge";
import type { Store } from "../store";
import { accessOf, type Grant } from "../workflow-access";
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  decodeProperties,
  KIND_ORDER,
  type ArchiveCounts,
  type ArchiveLine,
} from "./archive-format";

/** Options of {@link importWorkflow}. */
export interface ImportOptions {
  /**
   * Who imports: a caller who is not an admin may only import a workflow whose grants make it an
   * OWNER (restoring what it owned), so that nobody grants workflows to others by import.
   * @default an admin
   */
  scope?: AccessScope;
  /** @default 1000 rows */
  batchRows?: number;
  /** @default 8 MiB of line text per write transaction */
  batchBytes?: number;
  /** Fail after this many batches (before the workflow is shown), to test the clean-up. */
  failAfterBatches?: number;
}

/** What {@link importWorkflow} wrote. */
export interface ImportResult {
  workflowId: string;
  counts: ArchiveCounts;
}

const LABELS: Record<"workflow" | "branch" | "node", readonly string[]> = {
  workflow: ["Workflow"],
  branch: ["Branch", "RestrictedBranch"],
  node: ["WorkflowNode"],
};

const EXISTS = "MATCH (w:Workflow {id: $workflowId}) RETURN count(w) AS found";

// Created hidden: no read path sees it until SHOW (its grants come last too). The start time lets
// the retention job tell an import that crashed from one still running.
const CREATE_WORKFLOW = `
CREATE (w:Workflow:${HIDDEN_WORKFLOW})
SET w = $properties, w.importing = true, w.importStartedAt = datetime()`;

const WRITE: Record<"branch" | "node" | "edge" | "event", string> = {
  branch: `
UNWIND $rows AS row
CREATE (b:Branch)
SET b = row.properties
FOREACH (_ IN CASE WHEN 'RestrictedBranch' IN row.labels THEN [1] ELSE [] END | SET b:RestrictedBranch)
RETURN count(*) AS written`,
  node: `
UNWIND $rows AS row
CREATE (n:WorkflowNode)
SET n = row.properties
RETURN count(*) AS written`,
  edge: `
UNWIND $rows AS row
MATCH (a:WorkflowNode {id: row.from}) WHERE a.workflowId = $workflowId
MATCH (b:WorkflowNode {id: row.to}) WHERE b.workflowId = $workflowId
CALL apoc.create.relationship(a, row.type, row.properties, b) YIELD rel
RETURN count(rel) AS written`,
  event: `
UNWIND $rows AS row
CREATE (e:WorkflowEvent)
SET e = row.properties
RETURN count(*) AS written`,
};

const SHOW = `
UNWIND $grants AS row
CREATE (g:WorkflowGrant)
SET g = row
WITH count(*) AS grants
MATCH (w:Workflow {id: $workflowId})
REMOVE w:${HIDDEN_WORKFLOW}
SET w.importing = null, w.importStartedAt = null
RETURN grants`;

/** A line that parsed and passed the checks, with its properties decoded to driver values. */
type Row = {
  kind: string;
  labels?: string[];
  type?: string;
  from?: string;
  to?: string;
  properties: Record<string, unknown>;
};

const str = (v: unknown) => typeof v === "string" && v.length > 0;

/**
 * Checks one line of an archive against the format: its kind in order, its workflow id, its
 * labels, edge types and values.
 * @throws GraphQLError BAD_USER_INPUT naming the line.
 */
function checkLine(parsed: ArchiveLine, workflowId: string | null, at: string): Row | null {
  const wrong = (what: string) => badUserInput(`${at}: ${what}`, { field: "archive" });
  switch (parsed.kind) {
    case "header":
      if (parsed.format !== ARCHIVE_FORMAT) throw wrong(`not a ${ARCHIVE_FORMAT} file`);
      if (parsed.version !== ARCHIVE_VERSION) {
        throw wrong(`format version ${String(parsed.version)} is not supported (this server reads ${ARCHIVE_VERSION})`);
      }
      if (!str(parsed.workflowId) || parsed.workflowId !== parsed.workflowId.toLowerCase()) {
        throw wrong("the header has no valid workflowId");
      }
      return null;
    case "end":
      return null;
    default: {
      const row = parsed as { labels?: unknown; type?: unknown; from?: unknown; to?: unknown; properties?: unknown };
      const properties = decodeProperties(row.properties, `${at}.properties`);
      const owner = parsed.kind === "workflow" ? properties.id : properties.workflowId;
      // An edge is checked by its ends: both must be nodes of this workflow (see WRITE.edge).
      if (parsed.kind !== "edge" && owner !== workflowId)
        throw wrong(`belongs to another workflow than the header's ${workflowId}`);
      if (
        parsed.kind === "workflow" &&
        ["importing", "importStartedAt", "purging", "deletedAt"].some((key) => key in properties)
      ) {
        throw wrong("the workflow is marked as importing, purging or deleted");
      }
      if (parsed.kind === "workflow" || parsed.kind === "branch" || parsed.kind === "node") {
        const allowed = LABELS[parsed.kind];
        const labels = row.labels;
        if (
          !Array.isArray(labels) ||
          !labels.includes(allowed[0]) ||
          labels.some((l) => !allowed.includes(l as string))
        ) {
          throw wrong(`labels must be ${allowed.join(", ")}`);
        }
        if (!str(properties.id)) throw wrong("has no id");
        return { kind: parsed.kind, labels: labels as string[], properties };
      }
      if (parsed.kind === "edge") {
        if (typeof row.type !== "string" || !/^[A-Z][A-Z0-9_]*$/.test(row.type)) throw wrong("not an edge type");
        if (!str(row.from) || !str(row.to)) throw wrong("an edge needs from and to");
        return { kind: "edge", type: row.type, from: row.from as string, to: row.to as string, properties };
      }
      if (parsed.kind === "grant") {
        if (!str(properties.principal) || !["READ", "WRITE", "OWNER"].includes(properties.access as string)) {
          throw wrong("a grant needs a principal and READ, WRITE or OWNER access");
        }
      }
      return { kind: parsed.kind, properties };
    }
  }
}

/**
 * Reads `lines` into a file (none: only verifies), verifying the whole archive on the way;
 * nothing touches the database.
 */
async function spoolAndVerify(lines: AsyncIterable<string>, file: string | null) {
  const out = file === null ? null : createWriteStream(file);
  const hash = createHash("sha256");
  const counts: ArchiveCounts = { branch: 0, node: 0, edge: 0, event: 0, grant: 0 };
  let workflowId: string | null = null;
  let position = -1;
  let lineNo = 0;
  let end: Extract<ArchiveLine, { kind: "end" }> | null = null;
  const grants: Record<string, unknown>[] = [];
  try {
    for await (const raw of lines) {
      const text = raw.endsWith("\n") ? raw.slice(0, -1) : raw;
      lineNo += 1;
      const at = `line ${lineNo}`;
      if (text.trim() === "") continue;
      if (end) throw badUserInput(`${at}: text after the end line`, { field: "archive" });
      let parsed: ArchiveLine;
      try {
        parsed = JSON.parse(text) as ArchiveLine;
      } catch {
        throw badUserInput(`${at} is not JSON`, { field: "archive" });
      }
      const index = KIND_ORDER.indexOf(parsed?.kind as (typeof KIND_ORDER)[number]);
      const single = index === 0 || index === 1 || index === KIND_ORDER.length - 1;
      if (index < 0 || index < position || (index === position && single) || (position < 0 && index !== 0)) {
        throw badUserInput(`${at}: a "${String(parsed?.kind)}" line is out of place`, { field: "archive" });
      }
      if (index > 1 && position < 1) throw badUserInput(`${at}: the workflow line is missing`, { field: "archive" });
      position = index;
      if (parsed.kind === "header") workflowId = parsed.workflowId;
      const row = checkLine(parsed, workflowId, at);
      if (parsed.kind === "end") {
        end = parsed;
        continue;
      }
      hash.update(`${text}\n`);
      if (row && row.kind in counts) counts[row.kind as keyof ArchiveCounts] += 1;
      if (row?.kind === "grant") grants.push(row.properties);
      if (out && !out.write(`${text}\n`)) await once(out, "drain");
    }
  } finally {
    if (out) {
      out.end();
      await once(out, "close");
    }
  }
  if (!end) throw badUserInput("The archive is incomplete: it has no end line", { field: "archive" });
  if (end.sha256 !== hash.digest("hex")) {
    throw badUserInput("The archive's checksum does not match its content", { field: "archive" });
  }
  for (const kind of Object.keys(counts) as (keyof ArchiveCounts)[]) {
    if (end.counts?.[kind] !== counts[kind]) {
      throw badUserInput(
        `The archive holds ${counts[kind]} ${kind} lines; its end line says ${String(end.counts?.[kind])}`,
        {
          field: "archive",
        },
      );
    }
  }
  return { workflowId: workflowId!, counts, grants };
}

/**
 * Verifies an archive as {@link importWorkflow} does before it writes anything, in constant memory.
 * @returns its workflow id and counts.
 * @throws GraphQLError BAD_USER_INPUT naming what is wrong.
 */
export async function verifyArchive(lines: AsyncIterable<string>): Promise<ImportResult> {
  const { workflowId, counts } = await spoolAndVerify(lines, null);
  return { workflowId, counts };
}

/**
 * Loads an archive written by exportWorkflow: same ids, seqs, timestamps, edges and grants (the
 * file's), so that every query answers as it did before the export.
 *
 * The whole archive is read and verified first (format version, every line's shape and workflow,
 * the order of kinds, the counts and the SHA-256 of the end line) into a temporary file, so a
 * truncated or tampered archive writes nothing. It is then written in bounded batches, each a
 * transaction of its own, under a workflow created hidden (`importing: true`, label
 * HiddenWorkflow) that no read path sees and that has no grants; the last transaction writes the
 * grants and shows it. A failure on the way (a node id another workflow uses, the database gone)
 * removes what was written with purgeWorkflow; a crash leaves it hidden until the retention job
 * purges it, once it has been importing longer than `abandonedImportHours`.
 * @throws GraphQLError BAD_USER_INPUT for a file that is not a complete, intact archive of this
 * format version; CONFLICT when the workflow (or one of its node or branch ids) exists;
 * FORBIDDEN when `scope` is not an admin and the archive does not make it an owner.
 */
export async function importWorkflow(
  store: Store,
  lines: AsyncIterable<string>,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const dir = await mkdtemp(join(tmpdir(), "workflow-import-"));
  const file = join(dir, "archive.ndjson");
  try {
    const { workflowId, counts, grants } = await spoolAndVerify(lines, file);
    const scope = options.scope;
    if (scope && !scope.admin && accessOf(scope, grants as unknown as Grant[]) !== "OWNER") {
      throw forbidden(`Only admins and the workflow's owners may import workflow ${workflowId}`);
    }
    await write(store, file, workflowId, grants, options);
    return { workflowId, counts };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function write(
  store: Store,
  file: string,
  workflowId: string,
  grants: Record<string, unknown>[],
  options: ImportOptions,
) {
  const batchRows = options.batchRows ?? 1000;
  const batchBytes = options.batchBytes ?? 8 * 1024 * 1024;
  const rows = readRows(file, workflowId);
  const first = await rows.next();
  const workflow = (first.value as { row: Row }).row;
  await writeTransaction(store.driver, store.database, async (tx) => {
    const found = await tx.run(EXISTS, { workflowId });
    if (Number(found.records[0].get("found")) > 0) throw conflict(`Workflow ${workflowId} already exists`);
    await tx.run(CREATE_WORKFLOW, { properties: workflow.properties });
  });
  let batches = 0;
  try {
    let kind = "";
    let batch: Row[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      if (options.failAfterBatches !== undefined && batches >= options.failAfterBatches) {
        throw new Error(`import stopped after ${batches} batches`);
      }
      const params = { workflowId, rows: batch };
      const result = await writeTransaction(store.driver, store.database, (tx) =>
        tx.run(WRITE[kind as keyof typeof WRITE], params),
      );
      const written = Number(result.records[0]?.get("written") ?? 0);
      if (written !== batch.length) {
        throw badUserInput(`The archive has ${batch.length - written} edges between nodes it does not hold`, {
          field: "archive",
        });
      }
      batches += 1;
      batch = [];
      bytes = 0;
    };
    for await (const { row, size } of rows) {
      if (row.kind === "grant") continue;
      if (row.kind !== kind || batch.length >= batchRows || bytes + size > batchBytes) await flush();
      kind = row.kind;
      batch.push(row);
      bytes += size;
    }
    await flush();
    await writeTransaction(store.driver, store.database, async (tx) => {
      await tx.run(SHOW, { workflowId, grants });
      // The import's audit entry, with the step that shows the workflow.
      if (options.scope) await recordAudit(tx, options.scope, { workflowIds: [workflowId], targetIds: [] });
    });
  } catch (error) {
    // Remove what this import wrote: the workflow was created by it and is still hidden.
    await purgeWorkflow(store, workflowId).catch(() => undefined);
    throw error;
  }
}

/** The verified file's rows after the header: the workflow first, then the rest in file order. */
async function* readRows(
  file: string,
  workflowId: string,
): AsyncGenerator<{ row: Row; size: number }, void, undefined> {
  const input = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const text of input) {
    lineNo += 1;
    if (text.trim() === "") continue;
    const row = checkLine(JSON.parse(text) as ArchiveLine, workflowId, `line ${lineNo}`);
    if (row) yield { row, size: text.length };
  }
}

/**
 * Splits a byte stream (an HTTP body, a file) into lines for {@link importWorkflow}. The line
 * reader starts when iteration does: one created earlier emits lines nobody receives.
 */
export async function* linesOf(stream: NodeJS.ReadableStream): AsyncGenerator<string, void, undefined> {
  yield* createInterface({ input: stream, crlfDelay: Infinity });
}
