/**
 * The GraphQL operations only the scenarios send: each selects what a client would need, no more.
 * The writes (APPEND_NODE_BRIEF, APPEND_NODES) are shared with the tests in test/support/documents.
 */

export const PATH_TO_ROOT = /* GraphQL */ `
  query BenchPath($id: ID!) {
    workflowNodes(where: { id: { eq: $id } }) {
      pathToRoot {
        id
        seq
      }
    }
  }
`;

export const HISTORY_PAGE = /* GraphQL */ `
  query BenchHistory($workflowId: ID!, $after: String) {
    history(workflowId: $workflowId, first: 100, after: $after) {
      edges {
        node {
          id
          seq
          type
          content
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/**
 * Keyset paging through the library's list query: the next 100 after a seq (not a cursor). Sorted
 * by workflowId, then seq, so that Neo4j reads the (workflowId, seq) index in order.
 */
export const HISTORY_KEYSET = /* GraphQL */ `
  query BenchHistoryKeyset($workflowId: ID!, $afterSeq: Int!) {
    workflowNodes(
      where: { workflowId: { eq: $workflowId }, seq: { gt: $afterSeq } }
      sort: [{ workflowId: ASC }, { seq: ASC }]
      limit: 100
    ) {
      id
      seq
      type
      content
    }
  }
`;
