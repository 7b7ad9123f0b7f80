import neo4j from "neo4j-driver";
import { awaitSearchIndexRefresh } from "../../src/domain/search/index-refresh";
import { stableId, type Fixtures } from "./fixtures";

/** Workflows the corpus is spread over: a filter by workflow narrows it a hundredfold. */
export const CORPUS_WORKFLOWS = 100;
/** Nodes written per statement while building it. */
const BATCH = 10000;

/**
 * Words of the corpus and how often a node holds each: `rare` picks out about one node in a
 * thousand, `common` one in a hundred; the rest of a node's text is drawn from a vocabulary of
 * 5,000 made-up words with a long tail, so scores vary the way they do over real text.
 */
export const CORPUS_WORDS = { rare: "zephyrine", common: "timeout" } as const;

/** The corpus's workflow ids, in order. */
export const corpusWorkflowIds = (size: number) =>
  Array.from({ length: CORPUS_WORKFLOWS }, (_, i) => stableId(`search-corpus:${size}:${i}`));

// Made-up words (consonant-vowel syllables), the same on every run.
const VOCABULARY = Array.from({ length: 5000 }, (_, i) => {
  const c = "bcdfghjklmnprstvz";
  const v = "aeiou";
  let word = "";
  for (let k = i + 7; word.length < 6; k = Math.floor(k / 3) + 11 * word.length) word += c[k % 17] + v[k % 5];
  return `${word}${i}`;
});

/** A deterministic text for node `i`: 6–40 words, with the corpus words at their frequencies. */
export function corpusText(i: number): string {
  let x = (i * 2654435761) >>> 0;
  const next = () => (x = (Math.imul(x ^ (x >>> 15), 2246822507) + 3266489909) >>> 0) / 4294967296;
  const length = 6 + Math.floor(next() * 35);
  const words: string[] = [];
  for (let k = 0; k < length; k++) words.push(VOCABULARY[Math.floor(VOCABULARY.length * next() ** 3)]);
  if (i % 100 === 7) words.splice(Math.floor(next() * words.length), 0, CORPUS_WORDS.common);
  if (i % 1000 === 3) words.splice(Math.floor(next() * words.length), 0, CORPUS_WORDS.rare);
  return words.join(" ");
}

const CREATE_WORKFLOWS = `
UNWIND $ids AS id
MERGE (w:Workflow {id: id})
ON CREATE SET w.name = 'bench:search-corpus', w.systemPrompt = 'bench search corpus', w.status = 'RUNNING',
  w.createdAt = datetime(), w.lastSeq = 0, w.nodeCount = 0, w.branchCount = 1, w.mainBranchId = id + '-main'
MERGE (b:Branch {id: id + '-main'})
ON CREATE SET b.workflowId = id, b.name = 'main', b.status = 'ACTIVE', b.createdAt = datetime(), b.seq = 0,
  b.length = 0, b.lineage = [id + '-main']`;

// Raw rows (no PARENT_OF edges: search reads none), each workflow's seqs consecutive.
const CREATE_NODES = `
UNWIND $rows AS row
CREATE (n:WorkflowNode {
  id: randomUUID(), workflowId: row.workflowId, branchId: row.workflowId + '-main', type: 'MESSAGE',
  content: row.content, seq: row.seq, depth: row.seq, agentId: row.agentId,
  timestamp: datetime() - duration({seconds: row.age})
})`;

const COUNT = `
UNWIND $ids AS id
MATCH (n:WorkflowNode {workflowId: id}) RETURN count(n) AS nodes`;

/**
 * A corpus of `size` indexed nodes over {@link CORPUS_WORKFLOWS} workflows, kept between runs under
 * fixed ids; written here (in batches of raw UNWIND, far faster than the API) when missing, and
 * returned once the full-text index holds it.
 */
export async function ensureSearchCorpus(fx: Fixtures, size: number): Promise<{ workflowIds: string[] }> {
  const workflowIds = corpusWorkflowIds(size);
  const run = (cypher: string, params: Record<string, unknown>) =>
    fx.driver.executeQuery(cypher, params, { database: fx.database });
  const have = Number((await run(COUNT, { ids: workflowIds })).records[0].get("nodes"));
  if (have >= size) return { workflowIds };
  if (have > 0) {
    // An interrupted build: start over (the corpus's seqs must be whole).
    await fx.driver.executeQuery(
      `MATCH (n:WorkflowNode) WHERE n.workflowId IN $ids CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS`,
      { ids: workflowIds },
      { database: fx.database },
    );
  }
  fx.log(`  creating fixture: search corpus of ${size.toLocaleString("en")} nodes…`);
  await run(CREATE_WORKFLOWS, { ids: workflowIds });
  for (let from = 0; from < size; from += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, size - from) }, (_, k) => {
      const i = from + k;
      return {
        workflowId: workflowIds[i % CORPUS_WORKFLOWS],
        seq: neo4j.int(Math.floor(i / CORPUS_WORKFLOWS)),
        content: corpusText(i),
        agentId: `agent-${i % 7}`,
        age: neo4j.int(size - i),
      };
    });
    await run(CREATE_NODES, { rows });
  }
  await run(
    `UNWIND $ids AS id MATCH (w:Workflow {id: id})
     SET w.lastSeq = $perWorkflow - 1, w.nodeCount = $perWorkflow`,
    { ids: workflowIds, perWorkflow: neo4j.int(Math.ceil(size / CORPUS_WORKFLOWS)) },
  );
  // The full-text index is eventually consistent (migration 0012): searches start once it holds the corpus.
  await awaitSearchIndexRefresh(fx.driver, fx.database);
  return { workflowIds };
}
