import { Mutation } from "./mutation";
import { JSONObject } from "./scalars";
import { Subscription } from "./subscription";

/** The custom resolvers merged into the schema that @neo4j/graphql generates. */
export const resolvers = { JSONObject, Mutation, Subscription };
