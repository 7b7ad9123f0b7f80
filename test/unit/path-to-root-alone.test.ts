import { Kind, parse, type OperationDefinitionNode } from "graphql";
import { pathToRootAlone } from "../../src/graphql/path-to-root-alone";
import { checksAccessItself } from "../../src/server/deferred-access";

const operationOf = (query: string) =>
  parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;

describe("a root path read alone", () => {
  it("is one node by id selecting only its path's own fields, answered without the access lookup", () => {
    const op = operationOf(
      `query ($id: ID!) { workflowNodes(where: { id: { eq: $id } }) { __typename pathToRoot { id seq __typename } ids: pathToRoot { id content } } }`,
    );
    const field = op.selectionSet.selections[0];
    expect(field.kind === Kind.FIELD && pathToRootAlone(field)).toEqual({
      fields: new Set(["id", "seq", "content"]),
      keys: ["pathToRoot", "ids"],
    });
    expect(checksAccessItself(op)).toBe(true);
    // Beside history (which checks access itself too), with a literal id and the server's limit.
    expect(
      checksAccessItself(
        operationOf(
          `{ workflowNodes(where: { id: { eq: "x" } }, limit: 100) { pathToRoot { id } } history(workflowId: "w") { edges { node { id } } } }`,
        ),
      ),
    ).toBe(true);
  });

  it.each([
    ["another filter", `{ workflowNodes(where: { workflowId: { eq: "w" } }) { pathToRoot { id } } }`],
    ["a filter beside the id", `{ workflowNodes(where: { id: { eq: "x" }, seq: { eq: 1 } }) { pathToRoot { id } } }`],
    ["a list of ids", `{ workflowNodes(where: { id: { in: ["x"] } }) { pathToRoot { id } } }`],
    ["a where in a variable", `query ($w: WorkflowNodeWhere) { workflowNodes(where: $w) { pathToRoot { id } } }`],
    ["no filter", `{ workflowNodes { pathToRoot { id } } }`],
    ["a sort", `{ workflowNodes(where: { id: { eq: "x" } }, sort: [{ seq: ASC }]) { pathToRoot { id } } }`],
    ["the node's own field", `{ workflowNodes(where: { id: { eq: "x" } }) { id pathToRoot { id } } }`],
    ["a computed step field", `{ workflowNodes(where: { id: { eq: "x" } }) { pathToRoot { id restrictedTo } } }`],
    ["a nested step field", `{ workflowNodes(where: { id: { eq: "x" } }) { pathToRoot { parent { id } } } }`],
    ["a fragment", `{ workflowNodes(where: { id: { eq: "x" } }) { ...P } } fragment P on WorkflowNode { id }`],
    ["a step fragment", `{ workflowNodes(where: { id: { eq: "x" } }) { pathToRoot { ... on WorkflowNode { id } } } }`],
    ["a directive", `{ workflowNodes(where: { id: { eq: "x" } }) { pathToRoot @include(if: true) { id } } }`],
    ["another root field", `{ workflowNodes(where: { id: { eq: "x" } }) { pathToRoot { id } } workflows { id } }`],
  ])("is not a read with %s: its caller's view is looked up first", (_name, query) => {
    expect(checksAccessItself(operationOf(query))).toBe(false);
  });
});
