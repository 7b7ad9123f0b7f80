import { readFileSync } from "node:fs";
import path from "node:path";
import { Neo4jGraphQL } from "@neo4j/graphql";
import type { GraphQLSchema } from "graphql";
import type { Driver } from "neo4j-driver";
import { REPO_ROOT } from "../config";
import { resolvers } from "../../resolvers";

export const SCHEMA_PATH = path.join(REPO_ROOT, "schema.graphql");

/** The type definitions of schema.graphql. */
export function readTypeDefs(): string {
  return readFileSync(SCHEMA_PATH, "utf8");
}

/**
 * Builds the executable schema: @neo4j/graphql translates the @node types into Cypher-backed
 * queries; the custom mutations and subscriptions come from `resolvers/`.
 */
export async function createSchema(driver: Driver): Promise<GraphQLSchema> {
  const library = new Neo4jGraphQL({
    typeDefs: readTypeDefs(),
    driver,
    resolvers,
    features: {
      excludeDeprecatedFields: {
        mutationOperations: true,
        aggregationFilters: true,
        aggregationFiltersOutsideConnection: true,
        relationshipFilters: true,
        attributeFilters: true,
      },
    },
  });
  return library.getSchema();
}
