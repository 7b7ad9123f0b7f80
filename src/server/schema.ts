import { readFileSync } from "node:fs";
import path from "node:path";
import { Neo4jGraphQL } from "@neo4j/graphql";
import { Kind, parse, type GraphQLSchema } from "graphql";
import type { Driver } from "neo4j-driver";
import { REPO_ROOT } from "../config";
import { answerPathToRootAlone } from "../graphql/path-to-root-alone";
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
  const typeDefs = readTypeDefs();
  const library = new Neo4jGraphQL({
    typeDefs,
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
  const schema = await quietly(AUTHORIZATION_WITHOUT_KEY, () => library.getSchema());
  keepRootDescriptions(schema, typeDefs);
  answerPathToRootAlone(schema);
  return schema;
}

/**
 * The library rebuilds Query, Mutation and Subscription and drops their own descriptions (those of
 * their fields survive): copy them back from the type definitions, so GraphiQL and codegen show them.
 */
function keepRootDescriptions(schema: GraphQLSchema, typeDefs: string): void {
  const written = new Map<string, string>();
  for (const definition of parse(typeDefs).definitions) {
    if (definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.description) {
      written.set(definition.name.value, definition.description.value);
    }
  }
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    const description = root && written.get(root.name);
    if (root && description && !root.description) root.description = description;
  }
}

/**
 * The library warns that `@authorization` is used without `features.authorization` (a key to verify
 * tokens with): by design here, since the server verifies tokens itself and always passes the
 * verified payload as `context.jwt` (src/auth/access-scope.ts). That one warning is dropped.
 */
const AUTHORIZATION_WITHOUT_KEY = "specify authorization settings in 'features.authorization'";

async function quietly<T>(warning: string, run: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].includes(warning)) return;
    warn(...args);
  };
  try {
    return await run();
  } finally {
    console.warn = warn;
  }
}
