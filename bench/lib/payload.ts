import { randomUUID } from "node:crypto";

/**
 * The event every ingest scenario writes, on both sides: ~200 bytes of content (an LLM message of
 * modest size) and a small metadata object.
 */
const FILLER =
  "The agent considered the user's request, searched the flight index for Lisbon departures, " +
  "compared three fares and a hotel shortlist, and is now writing its summary for the next step.";

export const content = (i: number) => `#${i} ${FILLER}`;
export const metadata = (i: number) => ({ tool: "search_flights", step: i, ok: true });

/** An appendNode/appendNodes input (schema.graphql's AppendNodeInput) with a client-chosen id. */
export function appendInput(workflowId: string, parentId: string, i: number, id = randomUUID()) {
  return {
    id,
    workflowId,
    parentId,
    type: "MESSAGE" as const,
    content: content(i),
    metadata: metadata(i),
    agentId: "bench-agent",
    userId: null,
  };
}
export type AppendInput = ReturnType<typeof appendInput>;
