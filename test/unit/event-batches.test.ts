import { eventsOf, MAX_EVENTS_PER_MESSAGE, MAX_TEXT_PER_MESSAGE, messagesOf } from "../../src/live/event-batches";
import type { WorkflowEventMessage } from "../../src/domain/workflow-event";

const event = (workflowId: string, seq: number, content = "x"): WorkflowEventMessage =>
  ({
    kind: "NODE_ADDED",
    seq,
    workflowId,
    at: "2026-01-01T00:00:00Z",
    node: { id: `n${seq}`, workflowId, content, metadata: null },
  }) as unknown as WorkflowEventMessage;

describe("the messages a write's events are published in", () => {
  it("publishes a single event as itself, as before batches", () => {
    const one = event("w", 1);
    expect(messagesOf([one])).toEqual([{ workflowId: "w", message: one }]);
  });

  it("puts a batch's consecutive events of one workflow in one message, in order", () => {
    const events = [1, 2, 3].map((seq) => event("w", seq));
    const messages = messagesOf(events);
    expect(messages).toHaveLength(1);
    expect(eventsOf(messages[0].message).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("starts a new message at another workflow, and keeps the order given", () => {
    const events = [event("a", 1), event("a", 2), event("b", 1), event("a", 3)];
    const messages = messagesOf(events);
    expect(messages.map((m) => m.workflowId)).toEqual(["a", "b", "a"]);
    expect(messages.flatMap((m) => eventsOf(m.message))).toEqual(events);
  });

  it("splits at the most events and the most text one message holds", () => {
    const many = Array.from({ length: MAX_EVENTS_PER_MESSAGE + 1 }, (_, i) => event("w", i + 1));
    expect(messagesOf(many).map((m) => eventsOf(m.message).length)).toEqual([MAX_EVENTS_PER_MESSAGE, 1]);
    const large = "y".repeat(MAX_TEXT_PER_MESSAGE / 4);
    const big = Array.from({ length: 10 }, (_, i) => event("w", i + 1, large));
    const sizes = messagesOf(big).map((m) => eventsOf(m.message).length);
    expect(sizes.reduce((a, b) => a + b)).toBe(10);
    expect(Math.max(...sizes)).toBeLessThan(4);
    // An event larger than the limit still goes, alone.
    const huge = event("w", 1, "z".repeat(MAX_TEXT_PER_MESSAGE * 2));
    expect(messagesOf([huge, event("w", 2)]).map((m) => eventsOf(m.message).length)).toEqual([1, 1]);
  });
});
