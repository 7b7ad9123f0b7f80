import type { TokenClaims } from "../src/auth/sign-token";
import { GRANT_ACCESS, START_WORKFLOW } from "./support/documents";
import { codeOf, type Callers } from "./support/callers";
import { disposeAll, startAuthenticatedApp, testDriver } from "./support/harness";

/**
 * appendNode and appendNodes run with no access view looked up before them (their statement checks
 * access itself): what each caller gets back is still what it may see. ana owns a workflow and
 * grants ben WRITE; carol has the writer role but no grant. A node restricted to ana comes back
 * redacted to ben and in full to ana, computed fields resolve under each caller's rules, and carol
 * writes nothing.
 */

const ANA: TokenClaims = { sub: "ana", roles: ["writer"] };
const BEN: TokenClaims = { sub: "ben", roles: ["writer"] };
const CAROL: TokenClaims = { sub: "carol", roles: ["writer"] };

let as: Callers;
beforeAll(async () => {
  ({ as } = await startAuthenticatedApp());
});
afterAll(disposeAll);

const APPEND = /* GraphQL */ `
  mutation ($input: AppendNodeInput!) {
    appendNode(input: $input) {
      id
      seq
      content
      redacted
      parent {
        id
        content
        redacted
      }
    }
  }
`;
const APPEND_MANY = /* GraphQL */ `
  mutation ($input: [AppendNodeInput!]!) {
    appendNodes(input: $input) {
      id
      content
      redacted
    }
  }
`;

async function story() {
  const started = await as.ok(ANA, START_WORKFLOW, {
    input: { name: `append-access-${Date.now()}`, systemPrompt: "s" },
  });
  const workflowId = started.startWorkflow.id as string;
  const rootId = started.startWorkflow.root.id as string;
  await as.ok(ANA, GRANT_ACCESS, { input: { workflowId, principal: "ben", access: "WRITE" } });
  return { workflowId, rootId };
}

it("answers each writer's append with what that writer may see", async () => {
  const { workflowId, rootId } = await story();
  // ana writes a node only she may read; she gets it back in full.
  const mine = await as.ok(ANA, APPEND, {
    input: { workflowId, parentId: rootId, type: "MESSAGE", content: "for ana", restrictedTo: ["ana"] },
  });
  expect(mine.appendNode).toMatchObject({ seq: 1, content: "for ana", redacted: false, parent: { id: rootId } });

  // ben extends it: his node is his to read, its parent (a computed field) comes back redacted.
  const his = await as.ok(BEN, APPEND, {
    input: { workflowId, parentId: mine.appendNode.id, type: "MESSAGE", content: "from ben" },
  });
  expect(his.appendNode).toMatchObject({
    seq: 2,
    content: "from ben",
    redacted: false,
    parent: { id: mine.appendNode.id, content: null, redacted: true },
  });

  // ben writes a node restricted to ana: it is written, and redacted in his own result.
  const forAna = await as.ok(BEN, APPEND_MANY, {
    input: [{ workflowId, parentId: his.appendNode.id, type: "MESSAGE", content: "ben to ana", restrictedTo: ["ana"] }],
  });
  expect(forAna.appendNodes).toEqual([{ id: expect.any(String), content: null, redacted: true }]);
  const { records } = await testDriver().executeQuery("MATCH (n:WorkflowNode {id: $id}) RETURN n.content AS content", {
    id: forAna.appendNodes[0].id,
  });
  expect(records[0].get("content")).toBe("ben to ana");
});

it("writes nothing for a writer with no grant, and tells it no more than that the workflow is not there", async () => {
  const { workflowId, rootId } = await story();
  for (const [query, input] of [
    [APPEND, { workflowId, parentId: rootId, type: "MESSAGE", content: "carol" }],
    [APPEND_MANY, [{ workflowId, parentId: rootId, type: "MESSAGE", content: "carol" }]],
  ] as const) {
    const res = await as.post(CAROL, query, { input });
    expect(res.data?.appendNode ?? res.data?.appendNodes ?? null).toBeNull();
    expect(codeOf(res)).toBe("NOT_FOUND");
  }
  const { records } = await testDriver().executeQuery(
    "MATCH (n:WorkflowNode {workflowId: $workflowId}) RETURN count(n) AS nodes",
    { workflowId },
  );
  expect(records[0].get("nodes")).toBe(1);
});
