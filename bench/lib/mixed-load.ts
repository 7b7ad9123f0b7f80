import { randomUUID } from "node:crypto";

/**
 * What scenario 20 (mixed load) writes and how it checks what its subscribers received: realistic
 * LLM-step payloads, and the delivery check (every event of a subscriber's workflow, once each, in
 * seq order), kept free of I/O.
 */

const WORDS =
  "The agent read the retrieved passages, compared the supplier quotes against the budget, noted that " +
  "the second offer ships a week later, and drafted a reply asking for a revised delivery date. ";

const MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b"];

/** A deterministic pseudo-random integer in [min, max] from `i` (no shared RNG state between writers). */
const spread = (i: number, min: number, max: number) => min + (((i * 2654435761) >>> 0) % (max - min + 1));

/** 1–4 KB of text, as an LLM message or tool result of a real workflow. */
export function mixedContent(i: number): string {
  const bytes = spread(i, 1024, 4096);
  return `#${i} ${WORDS.repeat(Math.ceil(bytes / WORDS.length))}`.slice(0, bytes);
}

/** Metadata with `usage` per the analytics convention (docs/search-and-analytics.md). */
export function mixedMetadata(i: number) {
  return {
    tool: i % 3 === 0 ? "search_documents" : null,
    usage: {
      model: MODELS[i % MODELS.length],
      inputTokens: spread(i, 200, 3000),
      outputTokens: spread(i + 7, 20, 800),
      costUsd: spread(i, 1, 400) / 10000,
      latencyMs: spread(i + 3, 300, 6000) + 0.5,
    },
  };
}

/** An appendNode input (schema.graphql's AppendNodeInput) with a client-chosen id. */
export function mixedInput(workflowId: string, parentId: string, i: number, agent: number) {
  return {
    id: randomUUID(),
    workflowId,
    parentId,
    type: "MESSAGE" as const,
    content: mixedContent(i),
    metadata: mixedMetadata(i),
    agentId: `agent-${agent}`,
    userId: null,
  };
}

/** What one subscriber received, in arrival order. */
export interface Received {
  ids: string[];
  seqs: number[];
}

/** How a set of subscribers' receipts compare with what was written. */
export interface DeliveryCheck {
  /** Events written to a subscriber's workflow that it never received (summed over subscribers). */
  lost: number;
  /** Events a subscriber received more than once. */
  duplicated: number;
  /** Events received after one with a greater or equal seq. */
  outOfOrder: number;
  /** Events received that were not written to the subscriber's workflow. */
  unexpected: number;
  /** Events received in all. */
  delivered: number;
}

/**
 * Checks that each subscriber received every event of its workflow exactly once, in seq order.
 * `written(subscriber)` is the set of ids written to that subscriber's workflow; `uncertain` the ids
 * of appends that failed on the client's side (their write may or may not have committed), which
 * count neither as lost nor as unexpected.
 */
export function checkDelivery(
  received: readonly Received[],
  written: (subscriber: number) => ReadonlySet<string>,
  uncertain: ReadonlySet<string> = new Set(),
): DeliveryCheck {
  const check: DeliveryCheck = { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0, delivered: 0 };
  received.forEach((got, subscriber) => {
    const expected = written(subscriber);
    const seen = new Set<string>();
    let last = -Infinity;
    got.ids.forEach((id, i) => {
      check.delivered += 1;
      if (seen.has(id)) check.duplicated += 1;
      else if (!expected.has(id) && !uncertain.has(id)) check.unexpected += 1;
      seen.add(id);
      if (got.seqs[i] <= last) check.outOfOrder += 1;
      last = Math.max(last, got.seqs[i]);
    });
    for (const id of expected) if (!seen.has(id)) check.lost += 1;
  });
  return check;
}

/** True when nothing was lost, duplicated, reordered or foreign. */
export const deliveredExactly = (check: DeliveryCheck) =>
  check.lost === 0 && check.duplicated === 0 && check.outOfOrder === 0 && check.unexpected === 0;
