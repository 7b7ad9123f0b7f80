import type { GraphQLError } from "graphql";

/** The GraphQLError `fn` throws (fails the test when it throws nothing). */
export function thrown(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    return error as GraphQLError;
  }
  throw new Error("expected an error, nothing was thrown");
}
