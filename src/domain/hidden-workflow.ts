/**
 * A workflow being imported (`importing: true`) or purged (`purging: true`) carries this label as
 * well as `Workflow`: every read and write path leaves it out, from the first batch of a purge and
 * until the last batch of an import. Its grants are written last by an import and deleted first by
 * a purge, so callers who are not admins never find it; admins learn the ids with
 * {@link READ_HIDDEN_WORKFLOWS} as each operation starts (the label is absent on every other
 * workflow, so the lookup reads little).
 *
 * A soft-deleted workflow (`deletedAt` set, see soft-delete.ts) carries it too, but keeps its
 * grants: the lookup of the workflows a caller may read leaves labelled ones out (visibility.ts).
 */
export const HIDDEN_WORKFLOW = "HiddenWorkflow";

/** Cypher condition: the workflow `w` is visible (neither importing nor being purged). */
export const visibleWorkflow = (w: string) => `NOT ${w}:${HIDDEN_WORKFLOW}`;

/** Cypher: the ids of every hidden workflow, as `ids`. */
export const READ_HIDDEN_WORKFLOWS = `MATCH (w:${HIDDEN_WORKFLOW}) RETURN collect(w.id) AS ids`;

/**
 * Cypher condition: `w` is soft-deleted (deleteWorkflow): hidden like the others, but with
 * `deletedAt` set and neither being purged nor imported — its grants stay, so its owners can list
 * and restore it. The retention job purges it once the restore window has passed.
 */
export const deletedWorkflow = (w: string) =>
  `(${w}:${HIDDEN_WORKFLOW} AND ${w}.deletedAt IS NOT NULL AND ${w}.purging IS NULL AND ${w}.importing IS NULL)`;

/**
 * Cypher condition: `w` is visible or soft-deleted — what a live stream still follows until it has
 * delivered the WORKFLOW_DELETED event that ends it.
 */
export const visibleOrDeletedWorkflow = (w: string) => `(${visibleWorkflow(w)} OR ${deletedWorkflow(w)})`;
