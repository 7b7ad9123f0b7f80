import type { Driver } from "neo4j-driver";
import type { InputLimits } from "./validation";

/** What the domain operations need: the database and the limits they enforce. */
export interface Store extends InputLimits {
  driver: Driver;
  database: string;
  maxBatchSize: number;
  /** Days a soft-deleted workflow can be restored (DELETED_RETENTION_DAYS). @default 30 */
  deletedRetentionDays?: number;
  /** Days a workflow without `retentionDays` of its own is kept (RETENTION_DAYS). @default undefined (forever) */
  defaultRetentionDays?: number;
}
