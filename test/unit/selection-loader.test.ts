import { buildSchema, graphql, print, type GraphQLResolveInfo } from "graphql";
import { STORED_NODE_FIELDS } from "../../src/domain/workflow-node";
import { buildDocument, selectsOnly } from "../../src/graphql/selection-loader";

/**
 * What the selection loader decides from a request alone: whether the stored node in hand answers
 * the selection, and which query it runs otherwise. `info` comes from executing the request
 * against a small schema shaped like the API's.
 */

const schema = buildSchema(/* GraphQL */ `
  type WorkflowNode {
    id: ID!
    content(maxLength: Int): String!
    seq: Int!
    depth: Int!
    parent: WorkflowNode
  }
  type Query {
    appendNode: WorkflowNode
  }
`);

async function infoOf(source: string, variableValues: Record<string, unknown> = {}): Promise<GraphQLResolveInfo> {
  let captured: GraphQLResolveInfo | undefined;
  const rootValue = {
    appendNode: (_args: unknown, _context: unknown, info: GraphQLResolveInfo) => {
      captured = info;
      return null;
    },
  };
  const result = await graphql({ schema, source, rootValue, variableValues });
  if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join("; "));
  if (!captured) throw new Error("the field was not resolved");
  return captured;
}

const storedOnly = async (source: string) => selectsOnly(await infoOf(source), STORED_NODE_FIELDS);

describe("selectsOnly: whether the stored node answers the selection", () => {
  it("is true for stored properties, directly, in inline fragments or in named fragments", async () => {
    expect(await storedOnly("{ appendNode { id content seq depth __typename } }")).toBe(true);
    expect(await storedOnly("{ appendNode { ... on WorkflowNode { id content } } }")).toBe(true);
    expect(await storedOnly("{ appendNode { ...F } } fragment F on WorkflowNode { id seq }")).toBe(true);
  });

  it("is false for a relationship, also when it is selected through a fragment", async () => {
    expect(await storedOnly("{ appendNode { id parent { id } } }")).toBe(false);
    expect(await storedOnly("{ appendNode { ...F } } fragment F on WorkflowNode { parent { id } }")).toBe(false);
    expect(await storedOnly("{ appendNode { ... on WorkflowNode { parent { id } } } }")).toBe(false);
  });

  it("is false for a stored field asked for with arguments, or for a field with a directive", async () => {
    expect(await storedOnly("{ appendNode { content(maxLength: 5) } }")).toBe(false);
    expect(await storedOnly("{ appendNode @include(if: true) { id } }")).toBe(false);
  });
});

describe("buildDocument: the query the loader runs", () => {
  it("asks the root field for the ids with the client's selection, variables and fragments, plus the id", async () => {
    const info = await infoOf(
      "query Q($n: Int) { appendNode { id content(maxLength: $n) ...F } } fragment F on WorkflowNode { parent { id } }",
      { n: 3 },
    );
    expect(print(buildDocument(info, "workflowNodes"))).toBe(
      [
        "query ($n: Int, $__ids: [ID!]!) {",
        "  workflowNodes(where: {id: {in: $__ids}}) {",
        "    id",
        "    content(maxLength: $n)",
        "    ...F",
        "    __loadedId: id",
        "  }",
        "}",
        "",
        "fragment F on WorkflowNode {",
        "  parent {",
        "    id",
        "  }",
        "}",
      ].join("\n"),
    );
  });
});
