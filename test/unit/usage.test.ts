import { checkInput, checkUsage, DEFAULT_INPUT_LIMITS } from "../../src/domain/validation";
import { countNode, emptyStats, usageOf, usageProperties } from "../../src/domain/analytics/usage";
import { thrown } from "../support/thrown";

describe("the usage convention (metadata.usage)", () => {
  it("accepts every known field with its type, each optional, and keeps unknown keys", () => {
    expect(() =>
      checkUsage(
        { usage: { model: "gpt-4o", inputTokens: 0, outputTokens: 12, costUsd: 0.0031, latencyMs: 812.5 } },
        "input.metadata",
      ),
    ).not.toThrow();
    expect(() => checkUsage({ usage: {} }, "input.metadata")).not.toThrow();
    expect(() => checkUsage({ usage: null }, "input.metadata")).not.toThrow();
    expect(() => checkUsage({ usage: { cachedTokens: 5, model: null } }, "input.metadata")).not.toThrow();
    expect(() => checkUsage({ other: "x" }, "input.metadata")).not.toThrow();
  });

  it.each([
    [{ usage: "lots" }, "input.metadata.usage"],
    [{ usage: [1] }, "input.metadata.usage"],
    [{ usage: { model: 4 } }, "input.metadata.usage.model"],
    [{ usage: { model: " " } }, "input.metadata.usage.model"],
    [{ usage: { inputTokens: -1 } }, "input.metadata.usage.inputTokens"],
    [{ usage: { inputTokens: 1.5 } }, "input.metadata.usage.inputTokens"],
    [{ usage: { outputTokens: "12" } }, "input.metadata.usage.outputTokens"],
    [{ usage: { costUsd: -0.01 } }, "input.metadata.usage.costUsd"],
    [{ usage: { latencyMs: "fast" } }, "input.metadata.usage.latencyMs"],
  ])("answers BAD_USER_INPUT naming the field for %j", (metadata, field) => {
    const error = thrown(() => checkUsage(metadata, "input.metadata"));
    expect(error.extensions).toEqual({ code: "BAD_USER_INPUT", field });
  });

  it("is part of the check every write runs on its input, wherever metadata is (options too)", () => {
    const input = { options: [{ content: "a", metadata: { usage: { costUsd: -1 } } }] };
    expect(thrown(() => checkInput(DEFAULT_INPUT_LIMITS, input, "input")).extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.options[0].metadata.usage.costUsd",
    });
  });
});

describe("usage counters", () => {
  it("reads a node's usage from its stored metadata, and none from metadata without it", () => {
    const text = JSON.stringify({ usage: { model: "m", inputTokens: 3, extra: true }, usageNote: 1 });
    expect(usageOf(text)).toEqual({ model: "m", inputTokens: 3, outputTokens: null, costUsd: null, latencyMs: null });
    expect(usageOf(JSON.stringify({ note: "usage" }))).toBeNull();
    expect(usageOf(null)).toBeNull();
    expect(usageProperties(usageOf(text))).toEqual({ usageModel: "m", inputTokens: 3 });
  });

  it("counts nodes by type, by agent and by model, and sums their usage", () => {
    const stats = emptyStats();
    const usage = { model: "m", inputTokens: 10, outputTokens: 5, costUsd: 0.5, latencyMs: 100 };
    countNode(stats, { type: "SYSTEM", agentId: null, restrictedTo: null }, null);
    countNode(stats, { type: "MESSAGE", agentId: "a", restrictedTo: null }, usage);
    countNode(stats, { type: "MESSAGE", agentId: "a", restrictedTo: ["u"] }, { ...usage, model: null });
    expect(stats.types).toEqual({ SYSTEM: 1, MESSAGE: 2 });
    expect(stats.restrictedNodes).toBe(1);
    expect(stats.usage).toEqual({ nodes: 3, calls: 2, inputTokens: 20, outputTokens: 10, costUsd: 1, latencyMs: 200 });
    expect(stats.agents.map((a) => [a.agentId, a.usage.nodes, a.usage.inputTokens])).toEqual([
      [null, 1, 0],
      ["a", 2, 20],
    ]);
    expect(stats.models.map((m) => [m.model, m.usage.calls, m.usage.costUsd])).toEqual([
      ["m", 1, 0.5],
      [null, 1, 0.5],
    ]);
  });
});
