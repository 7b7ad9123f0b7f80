import type { Store } from "../domain/store";
import type { EventBus } from "../live/event-bus";
import type { EventSource } from "../domain/history/event-log";
import type { SelectionLoader } from "./selection-loader";

/** What every resolver receives: the domain store, the event bus and the selection loader. */
export interface AppContext {
  store: Store;
  bus: EventBus;
  /** The stored event log, for catch-up and gap filling. */
  events: EventSource;
  loader: SelectionLoader;
  /** Over WebSocket: closes the connection as too slow (code 4429). */
  closeSlowSubscriber?: () => void;
  /** Per-subscription buffer bounds (see openEventStream). */
  subscriberBuffer: { maxEvents: number; maxBytes: number };
  /** Read by @neo4j/graphql: which database its generated queries run against. */
  sessionConfig: { database: string };
}
