/**
 * GraphQL documents shared by the test suites, bench/ and the soak, written once so they cannot
 * drift. A document local to one suite stays in that suite. Free of jest: bench/ imports it.
 */

/** Starts a workflow: its counters and its root node. */
export const START_WORKFLOW = /* GraphQL */ `
  mutation Start($input: StartWorkflowInput!) {
    startWorkflow(input: $input) {
      id
      lastSeq
      nodeCount
      root {
        id
        seq
        branchId
      }
    }
  }
`;

/** Appends one node and reads back its stored fields (tests check each). */
export const APPEND_NODE = /* GraphQL */ `
  mutation Append($input: AppendNodeInput!) {
    appendNode(input: $input) {
      id
      seq
      depth
      branchId
      content
    }
  }
`;

/**
 * Appends one node selecting only what a writer needs for its next write (id and seq): the
 * benchmarks time the write, not the echo of its content.
 */
export const APPEND_NODE_BRIEF = /* GraphQL */ `
  mutation AppendBrief($input: AppendNodeInput!) {
    appendNode(input: $input) {
      id
      seq
    }
  }
`;

/** Appends a batch in one transaction; selects id and seq of each node. */
export const APPEND_NODES = /* GraphQL */ `
  mutation AppendMany($input: [AppendNodeInput!]!) {
    appendNodes(input: $input) {
      id
      seq
    }
  }
`;

/** Grants a principal access to a workflow (answers the workflow's id). */
export const GRANT_ACCESS = /* GraphQL */ `
  mutation ($input: GrantWorkflowAccessInput!) {
    grantWorkflowAccess(input: $input) {
      id
    }
  }
`;

/** Restricts a branch (and its forks) to a list of principals (answers the branch's id). */
export const SET_BRANCH_VISIBILITY = /* GraphQL */ `
  mutation ($input: SetBranchVisibilityInput!) {
    setBranchVisibility(input: $input) {
      id
    }
  }
`;
