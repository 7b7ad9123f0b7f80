import type { Driver } from "neo4j-driver";
import type { InputLimits } from "./validation";

/** What the domain operations need: the database and the limits they enforce. */
export interface Store extends InputLimits {
  driver: Driver;
  database: string;
  maxBatchSize: number;
}
