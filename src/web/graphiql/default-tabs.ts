/**
 * The README's worked example, one tab per step: start a workflow, watch it live, append a node.
 * Run the first, paste the ids it returns into the others' variables.
 */
export const DEFAULT_TABS: { query: string; variables?: string }[] = [
  {
    query: `# Start a workflow: its system prompt
# becomes the root node, at seq 0.
mutation StartWorkflow {
  startWorkflow(input: { name: "trip-planner", systemPrompt: "You plan trips." }) {
    id
    root {
      id
    }
  }
}
`,
  },
  {
    query: `# Watch it live: each node appears
# here as its write commits.
subscription WatchWorkflow($workflowId: ID!) {
  nodeAdded(workflowId: $workflowId) {
    seq
    type
    content
    depth
    pathToRoot {
      type
      content
    }
  }
}
`,
    variables: `{ "workflowId": "<workflow id>" }`,
  },
  {
    query: `# Append a message under the root
# (then an action under it, and so on).
mutation AppendNode($workflowId: ID!, $parentId: ID!) {
  appendNode(
    input: {
      workflowId: $workflowId
      parentId: $parentId
      type: MESSAGE
      content: "Plan 3 days in Lisbon"
      userId: "ana"
    }
  ) {
    id
    seq
    depth
  }
}
`,
    variables: `{ "workflowId": "<workflow id>", "parentId": "<root id>" }`,
  },
];
