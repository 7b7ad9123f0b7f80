/**
 * The GraphQL operations the viewer sends. The node and branch selections match model.ts's
 * `NodeData` and `BranchData`.
 */

const NODE_FIELDS = `id branchId type content metadata timestamp seq depth agentId userId parent { id }`;
const BRANCH_FIELDS = `id name status seq length forkedFrom { id }`;

/** The workflow list, newest first, filtered by name and status. */
export const WORKFLOWS = `query ViewerWorkflows($where: WorkflowWhere, $limit: Int) {
  workflows(where: $where, sort: [{ createdAt: DESC }], limit: $limit) {
    id name status createdAt lastSeq nodeCount
  }
}`;

/**
 * When each listed workflow last changed: its newest event's time. One alias per workflow (the
 * API allows 30 aliases an operation, so the list asks in batches).
 */
export function lastActivityQuery(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$w${i}: ID!, $s${i}: Int`).join(", ");
  const fields = Array.from(
    { length: count },
    (_, i) => `a${i}: workflowEvents(workflowId: $w${i}, afterSeq: $s${i}, first: 1) { at }`,
  ).join("\n  ");
  return `query ViewerLastActivity(${vars}) {\n  ${fields}\n}`;
}

/** One workflow's header, read first: its `lastSeq` is where the live stream resumes. */
export const WORKFLOW = `query ViewerWorkflow($id: ID!) {
  workflows(where: { id: { eq: $id } }, limit: 1) {
    id name status createdAt lastSeq nodeCount myAccess
  }
}`;

/** A page of the workflow's nodes in seq order. */
export const HISTORY = `query ViewerHistory($workflowId: ID!, $after: String, $first: Int) {
  history(workflowId: $workflowId, after: $after, first: $first) {
    edges { node { ${NODE_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** The workflow's branches, decisions and cross-branch monitors. */
export const STRUCTURE = `query ViewerStructure($workflowId: ID!, $offset: Int, $limit: Int) {
  branches(where: { workflowId: { eq: $workflowId } }, sort: [{ seq: ASC }], offset: $offset, limit: $limit) {
    ${BRANCH_FIELDS}
  }
}`;

/** Decisions with their options, in seq order, and the choice made. */
export const DECISIONS = `query ViewerDecisions($workflowId: ID!) {
  decisionPoints(workflowId: $workflowId) { decision { id } options { id } chosen { id } }
}`;

/** Monitors asked for per page: each lists its targets, which the cost limit counts as 100 each. */
export const MONITOR_PAGE = 300;

/**
 * The workflow's monitors and what each watches, a page at a time: all of them, not only those
 * watching another branch (`crossBranchMonitors`), so that every monitor gets its dotted edge.
 */
export const MONITORS = `query ViewerMonitors($workflowId: ID!, $offset: Int) {
  workflowNodes(
    where: { workflowId: { eq: $workflowId }, type: { eq: MONITOR } }
    sort: [{ seq: ASC }]
    offset: $offset
    limit: ${MONITOR_PAGE}
  ) { id monitors { id } }
}`;

/**
 * Every event after `afterSeq`, live. A decision's options and a monitor's targets come with its
 * node so the dotted edges appear with it.
 */
export const WORKFLOW_EVENTS = `subscription ViewerEvents($workflowId: ID!, $afterSeq: Int) {
  workflowEvents(workflowId: $workflowId, afterSeq: $afterSeq) {
    seq kind at
    node { ${NODE_FIELDS} options { id } monitors { id } }
    branch { ${BRANCH_FIELDS} }
    decision { id }
    option { id }
    status
    prunedBranchIds
  }
}`;

/** The workflow as it stood after event `seq`. */
export const WORKFLOW_AT = `query ViewerWorkflowAt($workflowId: ID!, $seq: Int!) {
  workflowAt(workflowId: $workflowId, seq: $seq) {
    seq at
    nodes { ${NODE_FIELDS} }
    branches { status length branch { id name seq forkedFrom { id } } }
    decisions { decision { id } options { id } chosen { id } }
    monitors { monitor { id } target { id } }
  }
}`;

/** What the side panel shows about a node beyond the model: its branch's summary and stats. */
export const NODE_DETAILS = `query ViewerNodeDetails($branchId: ID!) {
  branches(where: { id: { eq: $branchId } }, limit: 1) {
    id name status length
    summary(maxLength: 600)
    stats { nodeCount decisions pendingDecisions agents firstAt lastAt }
  }
}`;

/** A human's choice at a pending decision. */
export const CHOOSE_OPTION = `mutation ViewerChooseOption($input: ChooseOptionInput!) {
  chooseOption(input: $input) { id chosenOption { id } }
}`;
