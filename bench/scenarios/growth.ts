import { row, type Row, type Scenario } from "../lib/report";

type Point = { size: number; ours: number | null; raw: number | null };

/** Cost per 1,000 units of size: least-squares slope of p50 against size. */
function slopePer1000(points: Point[], side: "ours" | "raw"): number | null {
  const usable = points.filter((p) => p[side] != null);
  if (usable.length < 2) return null;
  const mx = usable.reduce((s, p) => s + p.size, 0) / usable.length;
  const my = usable.reduce((s, p) => s + p[side]!, 0) / usable.length;
  let num = 0;
  let den = 0;
  for (const p of usable) {
    num += (p.size - mx) * (p[side]! - my);
    den += (p.size - mx) ** 2;
  }
  return den === 0 ? null : (num / den) * 1000;
}

/** Exponent k of p50 ∝ size^k between the two largest sizes (≈1 linear, ≈0 constant). */
function tailExponent(points: Point[], side: "ours" | "raw"): number | null {
  const [a, b] = points.slice(-2);
  if (!a || !b || !a[side] || !b[side]) return null;
  return Math.log(b[side]! / a[side]!) / Math.log(b.size / a.size);
}

/**
 * 8. Growth: how the root path's cost grows with depth and a history page's with the workflow's
 * size, from the figures of scenarios 3 and 4 (each p50 is listed there).
 */
export const growth: Scenario = {
  id: 8,
  name: "Growth (from 3 and 4)",
  async run(ctx) {
    const series = Object.assign(
      {},
      ...ctx.previous.filter((r) => r.id === 3 || r.id === 4).map((r) => r.series ?? {}),
    );
    const rows: Row[] = [];
    for (const [name, points] of Object.entries(series) as [string, Point[]][]) {
      const what = name.replace(/ p50 \(ms\) by (depth|size)$/, "");
      const byDepth = name.endsWith("depth");
      const unit = byDepth ? "levels" : "events";
      for (const p of points) {
        const size = p.size.toLocaleString("en");
        rows.push(row(`${what}, ${byDepth ? `depth ${size}` : `${size} events`}`, "p50", "ms", p.ours, p.raw));
      }
      rows.push(
        {
          ...row(
            what,
            `cost per 1,000 ${unit} (slope)`,
            "ms",
            slopePer1000(points, "ours"),
            slopePer1000(points, "raw"),
          ),
          ratio: null,
        },
        {
          ...row(
            what,
            "k in p50 ∝ size^k (two largest)",
            "",
            tailExponent(points, "ours"),
            tailExponent(points, "raw"),
          ),
          ratio: null,
        },
      );
    }
    if (!rows.length) return { status: "failed", rows, targets: [], notes: ["scenarios 3 and 4 did not run"] };
    return {
      status: "ok",
      rows,
      targets: [],
      notes: ["k ≈ 1: cost linear in the size; k ≈ 0: constant. The slope is fitted on every size measured."],
    };
  },
};
