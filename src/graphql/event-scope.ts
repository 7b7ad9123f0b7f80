import {
  getOperationAST,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { canSeeContent } from "../domain/visibility";
import type { WorkflowEventMessage } from "../domain/workflow-event";
import { STORED_NODE_FIELDS } from "../domain/workflow-node";
import type { AppContext } from "./context";

/**
 * WorkflowNode fields whose value is the node's own stored data, or (content, metadata, redacted,
 * restrictedTo) that data as the node's redaction rule shows it: for one node, the same for every
 * caller on the same side of the rule.
 */
const NODE_FIELDS: ReadonlySet<string> = new Set([...STORED_NODE_FIELDS, "restrictedTo"]);
/** WorkflowEvent fields read from the event itself (`node` is the event's node, see below). */
const EVENT_FIELDS: ReadonlySet<string> = new Set(["__typename", "seq", "kind", "workflowId", "at", "status"]);
/** Subscription fields whose payload is the event's node, or the event. */
const ROOT_FIELDS: Readonly<Record<string, "node" | "event">> = {
  nodeAdded: "node",
  monitoredActivity: "node",
  workflowEvents: "event",
  replayWorkflow: "event",
};
/** Directives that only choose fields by the operation's variables (part of the shared key). */
const CHOOSING_DIRECTIVES: ReadonlySet<string> = new Set(["include", "skip"]);

type Shape = "node" | "event";

/**
 * True when the subscription operation selects only what is decided by the event itself and, for
 * the event's node, by whether the caller may read that node's content: the root field is a live
 * stream of nodes or events, and below it only stored node fields (through fragments too) and the
 * event's own fields, with no arguments. Anything that reads further (a parent, a path, a branch,
 * the caller's access, the pruned branches the caller could see) makes it false.
 */
export function isEventLocal(document: DocumentNode, operationName?: string | null): boolean {
  let byName = memo.get(document);
  if (!byName) memo.set(document, (byName = new Map()));
  const name = operationName ?? "";
  let local = byName.get(name);
  if (local === undefined) byName.set(name, (local = analyse(document, operationName)));
  return local;
}

const memo = new WeakMap<DocumentNode, Map<string, boolean>>();

function analyse(document: DocumentNode, operationName?: string | null): boolean {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== "subscription") return false;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const chooses = (directives: readonly { name: { value: string } }[] | undefined) =>
    (directives ?? []).every((d) => CHOOSING_DIRECTIVES.has(d.name.value));
  // `seen` stops a fragment cycle (invalid, but checked here before it is known to be validated).
  const within = (set: SelectionSetNode | undefined, shape: Shape | "root", seen: Set<string>): boolean =>
    (set?.selections ?? []).every((selection) => {
      if (!chooses(selection.directives)) return false;
      if (selection.kind === Kind.INLINE_FRAGMENT) return within(selection.selectionSet, shape, seen);
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) return false;
        return within(fragment.selectionSet, shape, new Set([...seen, fragment.name.value]));
      }
      const field = selection.name.value;
      if (shape === "root") {
        if (field === "__typename") return true;
        const payload = ROOT_FIELDS[field];
        return payload !== undefined && within(selection.selectionSet, payload, seen);
      }
      if (selection.arguments?.length) return false;
      if (shape === "event" && field === "node") return within(selection.selectionSet, "node", seen);
      const allowed = shape === "node" ? NODE_FIELDS : EVENT_FIELDS;
      return allowed.has(field) && !selection.selectionSet;
    });
  return within(operation.selectionSet, "root", new Set());
}

/**
 * The visibility class of the caller for one event, when the operation's result for that event is
 * decided by the class alone ({@link isEventLocal}); undefined otherwise, and for admins (who
 * share their own scope key) and callers whose access view is not looked up yet. Callers who
 * receive the event (its stream already kept to what each may see) and stand on the same side of
 * its node's redaction rule get the same result, so they can share one execution of it:
 * `event:open` (no node, or a node written without `restrictedTo`), `event:sees` (the caller may read the
 * restricted node's content) or `event:redacted`.
 */
export function eventScopeOf(args: ExecutionArgs, event: unknown): string | undefined {
  const context = args.contextValue as Partial<Pick<AppContext, "access" | "visibility" | "pendingAccess">>;
  if (!context?.access || context.access.admin || context.pendingAccess || !context.visibility) return undefined;
  if (!isEventLocal(args.document, args.operationName)) return undefined;
  const node = (event as Partial<WorkflowEventMessage> | undefined)?.node;
  if (!node) return "event:open";
  // The rule as schema.graphql writes it: only a missing list leaves the content open to all. A
  // node that does not say (not expected) is not classed at all.
  if (node.restrictedTo === undefined) return undefined;
  if (node.restrictedTo === null) return "event:open";
  return canSeeContent(context.visibility, node) ? "event:sees" : "event:redacted";
}
