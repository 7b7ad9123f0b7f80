/** The documents the dashboard sends, and the shapes it reads back. */

export const SERIES = /* GraphQL */ `
  query DashboardSeries($from: DateTime!, $to: DateTime!, $bucket: AnalyticsBucket!, $groupBy: [AnalyticsGroupBy!]) {
    analytics(from: $from, to: $to, bucket: $bucket, groupBy: $groupBy) {
      buckets
      groups {
        agentId
        model
        status
        workflowsStarted
        workflowsCompleted
        workflowsFailed
        nodes
        inputTokens
        outputTokens
        costUsd
      }
    }
  }
`;

export interface SeriesGroup {
  agentId: string | null;
  model: string | null;
  status: string | null;
  workflowsStarted: number[];
  workflowsCompleted: number[];
  workflowsFailed: number[];
  nodes: number[];
  inputTokens: number[];
  outputTokens: number[];
  costUsd: number[];
}

export interface Series {
  buckets: string[];
  groups: SeriesGroup[];
}

export const RECENT_WORKFLOWS = /* GraphQL */ `
  query DashboardWorkflows {
    workflows(limit: 50, sort: [{ createdAt: DESC }]) {
      id
      name
      status
    }
  }
`;

export interface WorkflowSummary {
  id: string;
  name: string;
  status: string;
}

const USAGE = "nodes calls inputTokens outputTokens costUsd latencyMs";

export const WORKFLOW_ANALYTICS = /* GraphQL */ `
  query DashboardWorkflow($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      id
      name
      status
      analytics {
        nodeCount
        errors
        byType { type count }
        byAgent { agentId usage { ${USAGE} } }
        byModel { model usage { ${USAGE} } }
        usage { ${USAGE} }
        branchesByStatus { status count }
        firstEventAt
        lastEventAt
        durationMs
        eventGapsMs { count p50 p95 max }
        decisions { total pending averageOptions maxOptions timeToChoiceMs { count p50 p95 } }
        criticalPath { endNodeId length durationMs }
      }
    }
  }
`;

export interface Usage {
  nodes: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  max?: number | null;
}

export interface WorkflowAnalytics {
  nodeCount: number;
  errors: number;
  byType: { type: string; count: number }[];
  byAgent: { agentId: string | null; usage: Usage }[];
  byModel: { model: string | null; usage: Usage }[];
  usage: Usage;
  branchesByStatus: { status: string; count: number }[];
  firstEventAt: string | null;
  lastEventAt: string | null;
  durationMs: number;
  eventGapsMs: Percentiles;
  decisions: {
    total: number;
    pending: number;
    averageOptions: number | null;
    maxOptions: number | null;
    timeToChoiceMs: Percentiles;
  };
  criticalPath: { endNodeId: string; length: number; durationMs: number } | null;
}
