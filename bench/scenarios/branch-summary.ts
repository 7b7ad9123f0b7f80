import type { Scenario } from "../lib/report";

const HAS_SUMMARY = /* GraphQL */ `
  {
    __type(name: "Branch") {
      fields {
        name
      }
    }
  }
`;

/**
 * 5. `Branch.summary` on a 10,000-node branch vs the raw aggregate Cypher.
 *
 * TODO(#5): the API has no Branch.summary yet. When it lands: build a 10,000-node branch with
 * appendChain (lib/fixtures.ts), time `Branch.summary` against the equivalent raw Cypher with
 * `alternate`/`runConcurrent` as in path-to-root.ts, and add its target. Nothing is measured (or
 * faked) until then; the table prints "not implemented yet".
 */
export const branchSummary: Scenario = {
  id: 5,
  name: "Branch summary",
  async run(ctx) {
    const schema = await ctx.gql.request(HAS_SUMMARY);
    const fields = (schema.__type?.fields ?? []) as { name: string }[];
    const landed = fields.some((f) => f.name === "summary");
    return {
      status: "not implemented",
      rows: [],
      targets: [],
      notes: [
        landed
          ? "The API now has Branch.summary, but this scenario is not written yet (TODO in bench/scenarios/branch-summary.ts)."
          : "Not implemented yet: the API has no Branch.summary (TODO in bench/scenarios/branch-summary.ts).",
      ],
    };
  },
};
