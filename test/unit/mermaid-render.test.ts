import { renderMermaid, type ChartData, type ChartNode } from "../../src/domain/mermaid-render";

const node = (id: string, seq: number, fields: Partial<ChartNode> = {}): ChartNode => ({
  id,
  type: "MESSAGE",
  content: `node ${id}`,
  branchId: "main",
  seq,
  parentId: null,
  ...fields,
});

function chart(fields: Partial<ChartData>): ChartData {
  return { nodes: [], branches: [], options: [], chosen: [], monitors: [], truncated: false, ...fields };
}

describe("renderMermaid", () => {
  it("draws branches as subgraphs, each node shaped by its type, and parent edges", () => {
    const text = renderMermaid(
      chart({
        nodes: [
          node("r-1", 0, { type: "SYSTEM", content: "system prompt" }),
          node("d", 1, { type: "DECISION", parentId: "r-1", content: "which?" }),
          node("o", 2, { type: "OPTION", parentId: "d", branchId: "b2", content: "this one" }),
          node("m", 3, { type: "MONITOR", parentId: "d", content: "watch" }),
          node("x", 4, { type: "ACTION", parentId: "o", branchId: "b2", content: "run" }),
        ],
        branches: [
          { id: "main", name: "main", status: "ACTIVE" },
          { id: "b2", name: "option: this one", status: "ABANDONED" },
        ],
        options: [{ from: "d", to: "o" }],
        chosen: [{ from: "d", to: "o" }],
        monitors: [{ from: "m", to: "x" }],
      }),
    );
    expect(text).toBe(
      [
        "flowchart TD",
        '  subgraph bmain["main"]',
        '    nr1(["0 SYSTEM: system prompt"])',
        '    nd{"1 DECISION: which?"}',
        '    nm[/"3 MONITOR: watch"/]',
        "  end",
        '  subgraph bb2["option: this one (abandoned)"]',
        '    no("2 OPTION: this one")',
        '    nx["4 ACTION: run"]',
        "  end",
        "  nr1 --> nd",
        "  nd ==>|chosen| no",
        "  nd --> nm",
        "  no --> nx",
        "  nm -.->|monitors| nx",
        "",
      ].join("\n"),
    );
  });

  it("draws an existing node offered as an option with a dotted edge, bold once chosen", () => {
    const nodes = [node("a", 1), node("d", 2, { type: "DECISION", parentId: "a" }), node("e", 3)];
    const offered = renderMermaid(chart({ nodes, options: [{ from: "d", to: "e" }] }));
    expect(offered).toContain("  nd -.->|option| ne\n");
    const chosen = renderMermaid(chart({ nodes, options: [{ from: "d", to: "e" }], chosen: [{ from: "d", to: "e" }] }));
    expect(chosen).toContain("  nd ==>|chosen option| ne\n");
  });

  it("omits edges to parents that are not shown", () => {
    const text = renderMermaid(chart({ nodes: [node("child", 5, { parentId: "hidden" })] }));
    expect(text).not.toContain("-->");
  });

  it("keeps labels on one line, at most 60 characters, with quotes and angle brackets escaped", () => {
    const text = renderMermaid(
      chart({ nodes: [node("a", 1, { content: `say "hi"\n  to <b>` }), node("b", 2, { content: "x".repeat(100) })] }),
    );
    expect(text).toContain('    na["1 MESSAGE: say #quot;hi#quot; to #lt;b#gt;"]');
    expect(text).toContain(`    nb["2 MESSAGE: ${"x".repeat(57)}..."]`);
  });

  it("says when the chart shows only the first nodes", () => {
    expect(renderMermaid(chart({ nodes: [node("a", 1)], truncated: true }))).toContain(
      "  %% showing the first 1 nodes in seq order",
    );
    expect(renderMermaid(chart({ nodes: [node("a", 1)] }))).not.toContain("%%");
  });

  it("draws an empty chart for no nodes, and names a branch it has no record of 'branch'", () => {
    expect(renderMermaid(chart({}))).toBe("flowchart TD\n");
    expect(renderMermaid(chart({ nodes: [node("a", 1, { branchId: "gone" })] }))).toContain(
      '  subgraph bgone["branch"]',
    );
  });
});
