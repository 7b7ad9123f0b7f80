import { createCostGate, type CostGate } from "./query-concurrency";

export interface ExpensiveQueryCapOptions {
  /** Estimated cost from which a query counts as expensive. */
  threshold: number;
  /** Expensive queries running at once on this instance, whoever sent them; 0 turns the cap off. */
  inFlight: number;
  /** Expensive queries that may wait for a slot; past that a query is refused (RATE_LIMITED). */
  maxQueued: number;
}

/** The key of the one line every caller's expensive queries share. */
const INSTANCE = "instance";

/**
 * Wraps a per-caller gate so that, past it, an expensive query also waits for one of the
 * instance's `inFlight` slots for expensive queries, in order of arrival. The database's CPU is
 * shared by every caller: on a small machine a few large reads at once slow every write, whoever
 * sent them, and the per-caller budget alone lets one caller run several. Cheap queries (most of
 * them) never wait here, so they pass the expensive ones in line.
 *
 * A query takes its caller's room first and then a slot, so a caller waiting for a slot holds only
 * its own budget, and a caller cannot queue more expensive queries here than its budget admits.
 */
export function withExpensiveQueryCap(perCaller: CostGate, options: ExpensiveQueryCapOptions): CostGate {
  if (options.inFlight <= 0) return perCaller;
  const slots = createCostGate({ budget: options.inFlight, maxQueued: options.maxQueued });
  return {
    async acquire(key, cost) {
      const release = await perCaller.acquire(key, cost);
      if (!release || cost < options.threshold) return release;
      const slot = await slots.acquire(INSTANCE, 1);
      if (!slot) {
        release();
        return undefined;
      }
      return () => {
        slot();
        release();
      };
    },
    state: (key) => perCaller.state(key),
  };
}
