import {
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLArgument,
  type GraphQLError,
  type GraphQLField,
  type GraphQLInputType,
} from "graphql";
import { badUserInput } from "../errors";

/** The most items one list may ask for with `first`/`limit`. */
export const MAX_PAGE_SIZE = 1000;

/** Arguments that are counts of items or characters: negative values mean nothing. */
const NON_NEGATIVE = new Set(["first", "limit", "offset", "maxLength", "maxGapMs"]);

/** Arguments that size a page. */
const PAGE_SIZES = new Set(["first", "limit"]);

/** The cursors of the library's `…Connection` types: base64 of `arrayconnection:<offset>`. */
const LIBRARY_CURSOR = /^arrayconnection:\d+$/;

/**
 * Refuses, as BAD_USER_INPUT, argument values that would otherwise reach Neo4j and fail there as an
 * internal error (a negative LIMIT, a date-time Neo4j cannot parse), be silently ignored (a
 * malformed cursor of a generated connection) or silently cut (a page over the maximum size). `args` are coerced, so literals and variables alike
 * are checked.
 */
export function checkArguments(
  field: GraphQLField<unknown, unknown>,
  args: Record<string, unknown>,
  bad: GraphQLError[],
) {
  for (const arg of field.args) {
    const value = args[arg.name];
    if (value === undefined || value === null) continue;
    if (PAGE_SIZES.has(arg.name) && typeof value === "number" && (value < 0 || value > MAX_PAGE_SIZE)) {
      bad.push(
        badUserInput(`${field.name}: ${arg.name} must be from 0 to ${MAX_PAGE_SIZE}, got ${value}`, argDetails(arg)),
      );
    } else if (NON_NEGATIVE.has(arg.name) && typeof value === "number" && value < 0) {
      bad.push(badUserInput(`${field.name}: ${arg.name} must be 0 or more, got ${value}`, argDetails(arg)));
    }
    const connection = getNamedType(field.type).name;
    if (
      arg.name === "after" &&
      typeof value === "string" &&
      connection.endsWith("Connection") &&
      !LIBRARY_CURSOR.test(Buffer.from(value, "base64").toString("utf8"))
    ) {
      bad.push(badUserInput(`${field.name}: after is not a cursor this connection returned`, argDetails(arg)));
    }
    checkDateTimes(arg.type, value, `${field.name}.${arg.name}`, bad);
  }
}

const argDetails = (arg: GraphQLArgument) => ({ argument: arg.name });

/**
 * ISO-8601 date-times in the forms Neo4j's `datetime()` parses. The DateTime scalar accepts
 * anything `Date` parses ("Jan 1 2024"), which Neo4j then rejects mid-query.
 */
const ISO_DATE_TIME = /^[+-]?\d{4,9}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

/** Whether a value of each input type can hold a DateTime anywhere inside it (see {@link mayHoldDateTime}). */
const holdsDateTime = new WeakMap<GraphQLInputType, boolean>();

/**
 * True when a value of `type` can hold a DateTime at some depth. Worked out once per type, so
 * that an input that cannot (a batch of 1,000 AppendNodeInput) is not walked field by field on
 * every request. A type met again while it is being worked out (a recursive input) adds nothing
 * new: its other fields decide.
 */
function mayHoldDateTime(type: GraphQLInputType, visiting = new Set<GraphQLInputType>()): boolean {
  const known = holdsDateTime.get(type);
  if (known !== undefined) return known;
  if (visiting.has(type)) return false;
  visiting.add(type);
  let holds: boolean;
  if (isNonNullType(type) || isListType(type)) holds = mayHoldDateTime(type.ofType, visiting);
  else if (isInputObjectType(type))
    holds = Object.values(type.getFields()).some((f) => mayHoldDateTime(f.type, visiting));
  else holds = type.name === "DateTime";
  visiting.delete(type);
  // A recursive type's answer is final only once worked out from its outermost use.
  if (holds || visiting.size === 0) holdsDateTime.set(type, holds);
  return holds;
}

function checkDateTimes(type: GraphQLInputType, value: unknown, path: string, bad: GraphQLError[]): void {
  if (value === null || value === undefined || !mayHoldDateTime(type)) return;
  if (isNonNullType(type)) return checkDateTimes(type.ofType, value, path, bad);
  if (isListType(type)) {
    if (Array.isArray(value)) value.forEach((item) => checkDateTimes(type.ofType, item, path, bad));
    return;
  }
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (fields[key]) checkDateTimes(fields[key].type, inner, `${path}.${key}`, bad);
    }
    return;
  }
  if (type.name === "DateTime" && (typeof value !== "string" || !ISO_DATE_TIME.test(value))) {
    bad.push(badUserInput(`${path}: ${JSON.stringify(value)} is not an ISO-8601 date-time`, { argument: path }));
  }
}
