/**
 * Fields that read many rows whatever their arguments (analytics scan a workflow, or every
 * workflow in a range): a fixed cost on top of their selection's, so that a list of workflows
 * each asking for its analytics is refused by the cost limit instead of running hundreds of scans.
 */
export const SCAN_FIELD_COSTS: ReadonlyMap<string, number> = new Map([
  ["Workflow.analytics", 1000],
  ["Branch.analytics", 1000],
  ["Query.analytics", 2000],
]);
