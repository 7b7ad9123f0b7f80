import { Mutation } from "./mutation";
import {
  Branch,
  BranchAt,
  DecisionPoint,
  HistoryEdge,
  MonitorLink,
  Workflow,
  WorkflowEvent,
  WorkflowSnapshot,
} from "./objects";
import { Query } from "./query";
import { JSONObject } from "./scalars";
import { SearchNodeEdge, SearchQuery, SearchWorkflowEdge } from "./search";
import { Subscription } from "./subscription";
import { pathToRootField } from "../src/graphql/path-to-root";
import { AnalyticsQuery, branchAnalyticsField, workflowAnalyticsField } from "./analytics";

/** The custom resolvers merged into the schema that @neo4j/graphql generates. */
export const resolvers = {
  JSONObject,
  Query: { ...Query, ...SearchQuery, ...AnalyticsQuery },
  Mutation,
  Subscription,
  DecisionPoint,
  MonitorLink,
  WorkflowEvent,
  Workflow: { ...Workflow, analytics: workflowAnalyticsField },
  Branch: { ...Branch, analytics: branchAnalyticsField },
  WorkflowSnapshot,
  BranchAt,
  HistoryEdge,
  SearchNodeEdge,
  SearchWorkflowEdge,
  WorkflowNode: { pathToRoot: pathToRootField },
};
