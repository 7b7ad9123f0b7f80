import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A JSON object. Stored in Neo4j as JSON text (node properties cannot hold maps): serialising
 * accepts that text or an object; input must be an object.
 */
export const JSONObject = new GraphQLScalarType({
  name: "JSONObject",
  // A JSON object as RFC 8259 defines it; also in schema.graphql, which this type replaces.
  specifiedByURL: "https://www.rfc-editor.org/rfc/rfc8259#section-4",
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

/**
 * The value of an object or list literal. Iterative, so that no literal can overflow the stack
 * here; the domain then holds the value to the metadata limits (depth, bytes).
 */
function literal(root: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  const result: { value?: unknown } = {};
  const pending: [ValueNode, (value: unknown) => void][] = [[root, (value) => (result.value = value)]];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const [ast, set] = item;
    switch (ast.kind) {
      case Kind.OBJECT: {
        const object: Record<string, unknown> = {};
        set(object);
        for (const field of ast.fields) {
          // Defined, not assigned: a "__proto__" key stays a key. Defined now to keep the literal's order.
          const key = field.name.value;
          Object.defineProperty(object, key, { value: null, enumerable: true, writable: true, configurable: true });
          pending.push([field.value, (value) => (object[key] = value)]);
        }
        break;
      }
      case Kind.LIST: {
        const list: unknown[] = ast.values.map(() => null);
        set(list);
        ast.values.forEach((value, index) => pending.push([value, (v) => (list[index] = v)]));
        break;
      }
      case Kind.STRING:
      case Kind.ENUM:
      case Kind.BOOLEAN:
        set(ast.value);
        break;
      case Kind.INT:
      case Kind.FLOAT:
        set(Number(ast.value));
        break;
      case Kind.NULL:
        set(null);
        break;
      case Kind.VARIABLE:
        set(variables?.[ast.name.value]);
        break;
    }
  }
  return result.value;
}
