import { ensureChain } from "../lib/fixtures";
import { rawRead } from "../lib/raw";
import { row, type Row, type Scenario } from "../lib/report";
import { alternate, runConcurrent } from "../lib/runner";
import { acrossRounds } from "../lib/stats";

const LENGTH = 10000;
const MAX_LENGTH = 10_000_000;

const OURS = /* GraphQL */ `
  query BranchSummary($id: ID!, $max: Int!) {
    branches(where: { id: { eq: $id } }) {
      summary(maxLength: $max)
    }
  }
`;

/** What a user would write by hand: the branch's contents in seq order, joined, cut. */
const RAW = `
MATCH (node:WorkflowNode {branchId: $id})
WITH node ORDER BY node.seq ASC
WITH collect(node.type + ': ' + node.content) AS lines
WITH apoc.text.join(lines, '\\n') AS text
RETURN CASE WHEN size(text) <= $max THEN text ELSE left(text, $max) END AS summary`;

/** 5. `Branch.summary` on a 10,000-node branch vs the raw aggregate Cypher, one request at a time. */
export const branchSummary: Scenario = {
  id: 5,
  name: "Branch summary",
  async run(ctx) {
    const length = ctx.quick ? 1000 : LENGTH;
    const rounds = ctx.quick ? 3 : 5;
    const { workflowId } = await ensureChain(ctx.fx, length);
    const [branchId] = await rawRead<string>(
      ctx.driver,
      ctx.database,
      "MATCH (w:Workflow {id: $workflowId}) RETURN w.mainBranchId AS id",
      { workflowId },
    );
    const vars = { id: branchId, max: MAX_LENGTH };
    const ours = (await ctx.gql.request(OURS, vars)).branches[0].summary as string;
    const [raw] = await rawRead<string>(ctx.driver, ctx.database, RAW, vars);
    if (ours !== raw) throw new Error("Branch.summary and the raw summary differ");
    const results = await alternate(
      rounds,
      (side, round) =>
        runConcurrent(round < 0 ? 3 : ctx.quick ? 10 : 20, 1, () =>
          side === "ours" ? ctx.gql.request(OURS, vars) : rawRead(ctx.driver, ctx.database, RAW, vars),
        ),
      { warmup: true },
    );
    const o = acrossRounds(results.ours);
    const r = acrossRounds(results.raw);
    const label = `${(length + 1).toLocaleString("en")}-node branch (${(ours.length / 1024).toFixed(0)} KiB of text)`;
    const rows: Row[] = [row(label, "p50", "ms", o.p50, r.p50), row(label, "p99", "ms", o.p99, r.p99)];
    return {
      status: "ok",
      rows,
      targets: [],
      notes: ["Raw: the same branch's contents joined in seq order with apoc.text.join, checked equal to ours."],
    };
  },
};
