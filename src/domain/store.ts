import type { Driver } from "neo4j-driver";

/** What the domain operations need: the database and the limits they enforce. */
export interface Store {
  driver: Driver;
  database: string;
  maxContentBytes: number;
  maxBatchSize: number;
}
