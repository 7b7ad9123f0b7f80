import { ADMIN_SCOPE } from "../../src/auth/access-scope";
import { ANONYMOUS_SUB } from "../../src/auth/principal";
import { createHash } from "node:crypto";
import neo4j, { type Driver } from "neo4j-driver";
import { appendNodes } from "../../src/domain/append-nodes";
import { startWorkflow } from "../../src/domain/start-workflow";
import type { Store } from "../../src/domain/store";
import { appendInput } from "./payload";

/** Database access for setting up data: the domain operations' store and a raw driver. */
export interface Fixtures {
  store: Store;
  driver: Driver;
  database: string;
  /** Workflows made for this run only; removed at the end. */
  scratch: string[];
  log(message: string): void;
}

/** A UUID derived from a name (same name, same id): fixtures are found again on the next run. */
export function stableId(name: string): string {
  const h = createHash("sha1").update(`workflow-graph-bench:${name}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Starts a workflow for this run only (removed by {@link removeScratch}). */
export async function scratchWorkflow(fx: Fixtures, name: string): Promise<{ workflowId: string; rootId: string }> {
  const { workflowId, root } = await startWorkflow(
    fx.store,
    { name: `bench:${name}`, systemPrompt: "bench" },
    ADMIN_SCOPE,
    ANONYMOUS_SUB,
  );
  fx.scratch.push(workflowId);
  return { workflowId, rootId: root.id };
}

const BATCH = 5000;

/** Appends `count` nodes in a chain under `parentId`, in batches through the domain operation. */
export async function appendChain(fx: Fixtures, workflowId: string, parentId: string, count: number, from = 0) {
  let parent = parentId;
  for (let done = 0; done < count;) {
    const n = Math.min(BATCH, count - done);
    const inputs = Array.from({ length: n }, (_, k) => appendInput(workflowId, "", from + done + k));
    inputs.forEach((input, k) => (input.parentId = k === 0 ? parent : inputs[k - 1].id));
    await appendNodes(fx.store, inputs, ADMIN_SCOPE);
    parent = inputs[n - 1].id;
    done += n;
  }
  return parent;
}

/** Appends `count` children directly under `parentId` (a wide node), in batches. */
export async function appendChildren(fx: Fixtures, workflowId: string, parentId: string, count: number) {
  for (let done = 0; done < count;) {
    const n = Math.min(BATCH, count - done);
    await appendNodes(
      fx.store,
      Array.from({ length: n }, (_, k) => appendInput(workflowId, parentId, done + k)),
      ADMIN_SCOPE,
    );
    done += n;
  }
}

/**
 * A workflow whose nodes form one chain of `length` nodes under the root (node at seq s has depth
 * s), kept between runs under a fixed id; created, or completed after an interrupted run, here.
 */
export async function ensureChain(fx: Fixtures, length: number): Promise<{ workflowId: string }> {
  const workflowId = stableId(`chain:${length}`);
  const found = await fx.driver.executeQuery(
    "MATCH (w:Workflow {id: $workflowId}) RETURN w.lastSeq AS lastSeq",
    { workflowId },
    { database: fx.database },
  );
  let lastSeq = found.records.length ? Number(found.records[0].get("lastSeq")) : -1;
  if (lastSeq === -1) {
    await startWorkflow(
      fx.store,
      { id: workflowId, name: `bench:chain:${length}`, systemPrompt: "bench chain" },
      ADMIN_SCOPE,
      ANONYMOUS_SUB,
    );
    lastSeq = 0;
  }
  if (lastSeq < length) {
    fx.log(`  creating fixture: chain of ${length.toLocaleString("en")} nodes (have ${lastSeq})…`);
    const tip = await nodeAtSeq(fx, workflowId, lastSeq);
    await appendChain(fx, workflowId, tip, length - lastSeq, lastSeq);
  }
  return { workflowId };
}

/** The id of the node with this seq in the workflow. */
export async function nodeAtSeq(fx: Fixtures, workflowId: string, seq: number): Promise<string> {
  const result = await fx.driver.executeQuery(
    "MATCH (n:WorkflowNode {workflowId: $workflowId, seq: $seq}) RETURN n.id AS id",
    { workflowId, seq: neo4j.int(seq) },
    { database: fx.database },
  );
  if (!result.records.length) throw new Error(`no node with seq ${seq} in workflow ${workflowId}`);
  return String(result.records[0].get("id"));
}

/** Deletes this run's scratch workflows and all their nodes. */
export async function removeScratch(fx: Fixtures): Promise<void> {
  if (!fx.scratch.length) return;
  const session = fx.driver.session({ database: fx.database });
  try {
    await session.run(
      `MATCH (n:WorkflowNode) WHERE n.workflowId IN $ids
       CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS`,
      { ids: fx.scratch },
    );
    await session.run("MATCH (w:Workflow) WHERE w.id IN $ids DETACH DELETE w", { ids: fx.scratch });
    fx.scratch.length = 0;
  } finally {
    await session.close();
  }
}
