import type { Driver } from "neo4j-driver";

/**
 * Waits until every write committed before the call is in the full-text indexes. They are
 * eventually consistent (migration 0012): Neo4j applies a write to them in the background shortly
 * after its commit, so a search run straight after a write may not find it yet. Tests and
 * benchmarks that search what they have just written call this first; the API does not (a search
 * sees the index as it is).
 * @throws the driver's error when Neo4j cannot be reached.
 */
export async function awaitSearchIndexRefresh(driver: Driver, database: string): Promise<void> {
  await driver.executeQuery("CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()", {}, { database });
}
