import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A JSON object. Stored in Neo4j as JSON text (node properties cannot hold maps): serialising
 * accepts that text or an object; input must be an object.
 */
export const JSONObject = new GraphQLScalarType({
  name: "JSONObject",
  description: "A JSON object. Stored in Neo4j as JSON text, since node properties cannot hold maps.",
  serialize(value) {
    const parsed = typeof value === "string" ? JSON.parse(value) : value;
    if (!isPlainObject(parsed)) throw new GraphQLError("JSONObject cannot represent a non-object value");
    return parsed;
  },
  parseValue(value) {
    if (!isPlainObject(value)) throw new GraphQLError("JSONObject must be a JSON object");
    return value;
  },
  parseLiteral(ast, variables) {
    if (ast.kind !== Kind.OBJECT) throw new GraphQLError("JSONObject must be a JSON object");
    return literal(ast, variables);
  },
});

function literal(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value, variables)]));
    case Kind.LIST:
      return ast.values.map((v) => literal(v, variables));
    case Kind.STRING:
    case Kind.ENUM:
      return ast.value;
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
  }
}
