import type { WorkflowEventMessage } from "../domain/workflow-event";

/**
 * What one message on a workflow's channel carries: one event (what a single append publishes,
 * and every message before batches existed), or several consecutive events of that workflow in
 * seq order (a batch write). One PUBLISH for a batch of 1,000 appends instead of 1,000 spares the
 * API a command per event and Redis a fan-out per event.
 */
export type ChannelMessage = WorkflowEventMessage | WorkflowEventMessage[];

/** Most events in one message. */
export const MAX_EVENTS_PER_MESSAGE = 1000;

/**
 * Most bytes of text (content and metadata) in one message, so that a batch of large events is
 * still several messages of moderate size rather than one of hundreds of megabytes.
 */
export const MAX_TEXT_PER_MESSAGE = 1024 * 1024;

/** A rough size of an event's text: its node's content and metadata (each event also carries ~0.5 KB of fields). */
const textOf = (event: WorkflowEventMessage) =>
  (event.node?.content?.length ?? 0) + (event.node?.metadata?.length ?? 0) + 512;

/**
 * Groups events, in the order given, into the messages to publish: consecutive events of one
 * workflow share a message up to {@link MAX_EVENTS_PER_MESSAGE} events or
 * {@link MAX_TEXT_PER_MESSAGE} of text; a group of one is published as the event itself.
 */
export function messagesOf(events: readonly WorkflowEventMessage[]): { workflowId: string; message: ChannelMessage }[] {
  const messages: { workflowId: string; message: ChannelMessage }[] = [];
  let group: WorkflowEventMessage[] = [];
  let text = 0;
  const close = () => {
    if (group.length > 0) {
      messages.push({ workflowId: group[0].workflowId, message: group.length === 1 ? group[0] : group });
    }
    group = [];
    text = 0;
  };
  for (const event of events) {
    const size = textOf(event);
    const full = group.length >= MAX_EVENTS_PER_MESSAGE || (group.length > 0 && text + size > MAX_TEXT_PER_MESSAGE);
    if (group.length > 0 && (group[0].workflowId !== event.workflowId || full)) close();
    group.push(event);
    text += size;
  }
  close();
  return messages;
}

/** The events a message carries, in order. */
export function eventsOf(message: ChannelMessage): readonly WorkflowEventMessage[] {
  return Array.isArray(message) ? message : [message];
}
