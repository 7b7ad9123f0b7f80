import type { AccessScope } from "../auth/access-scope";
import type { Principal } from "../auth/principal";
import type { Store } from "../domain/store";
import type { AccessView, Visibility, WorkflowVisibilityState } from "../domain/visibility";
import type { SharedAccess } from "../live/shared-access";
import type { EventBus } from "../live/event-bus";
import type { EventSource } from "../domain/history/event-log";
import type { EventMetrics } from "../metrics/recorder";
import type { SelectionLoader } from "./selection-loader";

/** What every resolver receives: the caller, the domain store, the event bus and the selection loader. */
export interface AppContext {
  /** Who is calling (the anonymous admin when authentication is off). */
  principal: Principal;
  /**
   * Set while the caller's access view has not been looked up (an operation whose reads check access
   * themselves): looks it up, once. `ensureAccessView` (deferred-access.ts) applies it to `jwt`,
   * `access` and `visibility` and removes this.
   */
  pendingAccess?: () => Promise<AccessView>;
  /** What the caller may see: admin, or its principals (see accessScopeOf). */
  access: AccessScope;
  /**
   * The caller's verified token payload (`principal.claims`) plus `admin` and `principals` (see
   * visibilityClaims). @neo4j/graphql reads it as the trusted JWT of `@authorization` rules and of
   * `$jwt` in `@cypher` statements; it is set only from a verified token, never from input.
   */
  jwt: Record<string, unknown>;
  /** The request the operation came with, as the audit trail records it. */
  request: { id: string; clientAddress: string | null };
  /** What is hidden or redacted from the caller inside the workflows it may read. */
  visibility: Visibility;
  store: Store;
  bus: EventBus;
  /** The stored event log, for catch-up and gap filling. */
  events: EventSource;
  loader: SelectionLoader<AppContext>;
  /** Workflows' access states read once per interval for all their subscribers (one per app). */
  sharedAccess: SharedAccess<WorkflowVisibilityState>;
  /**
   * Over WebSocket: closes the connection as too slow (code 1013, the SLOW_SUBSCRIBER error's
   * message as the reason).
   */
  closeSlowSubscriber?: (error: unknown) => void;
  /** Per-subscription buffer bounds (see openEventStream). */
  subscriberBuffer: { maxEvents: number; maxBytes: number };
  /** Read by @neo4j/graphql: which database its generated queries run against. */
  sessionConfig: { database: string };
  /** What live streams report to /metrics (gap fills, slow subscribers). */
  eventMetrics?: EventMetrics;
}
