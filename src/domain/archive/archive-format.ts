import neo4j from "neo4j-driver";
import { badUserInput } from "../../errors";

/** The `format` of an archive's header line. */
export const ARCHIVE_FORMAT = "workflow-graph-archive";

/** The version this code writes and the only one it reads. */
export const ARCHIVE_VERSION = 1;

/** A JSON value as an archive line holds it. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Stored properties, encoded: plain JSON for strings, booleans and integers, tags for the rest. */
export type EncodedProperties = Record<string, Json>;

/** How many lines of each kind an archive holds (the end line's `counts`). */
export interface ArchiveCounts {
  branch: number;
  node: number;
  edge: number;
  event: number;
  grant: number;
}

/**
 * One line of an archive, in this order: `header`, `workflow`, every `branch`, every `node` (in
 * seq order), every `edge`, every `event` (in seq order), every `grant`, and `end`, whose
 * `sha256` is the SHA-256 (hex) of every line before it, each with its newline.
 */
export type ArchiveLine =
  | { kind: "header"; format: string; version: number; workflowId: string; exportedAt: string }
  | { kind: "workflow" | "branch" | "node"; labels: string[]; properties: EncodedProperties }
  | { kind: "edge"; type: string; from: string; to: string; properties: EncodedProperties }
  | { kind: "event" | "grant"; properties: EncodedProperties }
  | { kind: "end"; counts: ArchiveCounts; sha256: string };

/** The kinds in the order an archive holds them. */
export const KIND_ORDER = ["header", "workflow", "branch", "node", "edge", "event", "grant", "end"] as const;

/** Cypher: the keys of `x`'s properties that hold floats (JSON cannot tell 1.0 from 1). */
export const floatKeysOf = (x: string) =>
  `[k IN keys(${x}) WHERE valueType(${x}[k]) STARTS WITH 'FLOAT' OR valueType(${x}[k]) STARTS WITH 'LIST<FLOAT']`;

const n = (v: unknown) => (v == null ? null : Number(v));

/** One stored value as JSON: temporal values and points as `{"$<type>": [fields]}`. */
function encodeValue(value: unknown, float: boolean): Json {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return float ? { $float: value as number[] } : value.map((v) => encodeValue(v, false));
  if (float) return { $float: value as number };
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return value;
  if (neo4j.isInt(value)) return (value as { toNumber(): number }).toNumber();
  const v = value as Record<string, unknown>;
  if (neo4j.isDateTime(value)) {
    return {
      $datetime: [v.year, v.month, v.day, v.hour, v.minute, v.second, v.nanosecond].map(n) as Json[],
      offset: n(v.timeZoneOffsetSeconds),
      zone: (v.timeZoneId as string | null | undefined) ?? null,
    };
  }
  if (neo4j.isLocalDateTime(value)) {
    return { $localdatetime: [v.year, v.month, v.day, v.hour, v.minute, v.second, v.nanosecond].map(n) as Json[] };
  }
  if (neo4j.isDate(value)) return { $date: [v.year, v.month, v.day].map(n) as Json[] };
  if (neo4j.isTime(value)) {
    return { $time: [v.hour, v.minute, v.second, v.nanosecond, v.timeZoneOffsetSeconds].map(n) as Json[] };
  }
  if (neo4j.isLocalTime(value)) return { $localtime: [v.hour, v.minute, v.second, v.nanosecond].map(n) as Json[] };
  if (neo4j.isDuration(value)) return { $duration: [v.months, v.days, v.seconds, v.nanoseconds].map(n) as Json[] };
  if (neo4j.isPoint(value)) {
    return { $point: [v.srid, v.x, v.y, v.z].map(n) as Json[] };
  }
  throw new Error(`Cannot archive a stored value of type ${typeof value}`);
}

/** Every stored property of a node or relationship, encoded (`floatKeys`: see {@link floatKeysOf}). */
export function encodeProperties(properties: Record<string, unknown>, floatKeys: readonly string[]): EncodedProperties {
  const encoded: EncodedProperties = {};
  for (const key of Object.keys(properties).sort()) {
    encoded[key] = encodeValue(properties[key], floatKeys.includes(key));
  }
  return encoded;
}

const numbers = (value: Json, size: number, field: string): number[] => {
  if (!Array.isArray(value) || value.length !== size || value.some((x) => x !== null && typeof x !== "number")) {
    throw badUserInput(`${field} is not an archived value`, { field });
  }
  return value as number[];
};

function decodeValue(value: Json, field: string): unknown {
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw badUserInput(`${field} must be an integer or tagged $float`, { field });
    return neo4j.int(value);
  }
  if (Array.isArray(value)) return value.map((v, i) => decodeValue(v, `${field}[${i}]`));
  if (value === null) throw badUserInput(`${field} must not be null`, { field });
  const [tag] = Object.keys(value).filter((k) => k.startsWith("$"));
  const body = value[tag];
  switch (tag) {
    case "$float": {
      const list = Array.isArray(body) ? body : [body];
      if (list.some((x) => typeof x !== "number")) throw badUserInput(`${field} must hold numbers`, { field });
      return body;
    }
    case "$datetime": {
      const [y, mo, d, h, mi, s, ns] = numbers(body, 7, field);
      const offset = value.offset;
      const zone = value.zone;
      return new neo4j.types.DateTime(
        y,
        mo,
        d,
        h,
        mi,
        s,
        ns,
        typeof offset === "number" ? offset : undefined,
        typeof zone === "string" ? zone : undefined,
      );
    }
    case "$localdatetime": {
      const [y, mo, d, h, mi, s, ns] = numbers(body, 7, field);
      return new neo4j.types.LocalDateTime(y, mo, d, h, mi, s, ns);
    }
    case "$date": {
      const [y, mo, d] = numbers(body, 3, field);
      return new neo4j.types.Date(y, mo, d);
    }
    case "$time": {
      const [h, mi, s, ns, offset] = numbers(body, 5, field);
      return new neo4j.types.Time(h, mi, s, ns, offset);
    }
    case "$localtime": {
      const [h, mi, s, ns] = numbers(body, 4, field);
      return new neo4j.types.LocalTime(h, mi, s, ns);
    }
    case "$duration": {
      const [months, days, seconds, nanoseconds] = numbers(body, 4, field);
      return new neo4j.types.Duration(months, days, seconds, nanoseconds);
    }
    case "$point": {
      const [srid, x, y, z] = numbers(body, 4, field);
      return new neo4j.types.Point(srid, x, y, z ?? undefined);
    }
    default:
      throw badUserInput(`${field} is not an archived value`, { field });
  }
}

/**
 * Archived properties back as driver values (integers as Neo4j integers, so that they are stored as
 * integers again).
 * @throws GraphQLError BAD_USER_INPUT for a value no export writes.
 */
export function decodeProperties(properties: unknown, field: string): Record<string, unknown> {
  if (properties === null || typeof properties !== "object" || Array.isArray(properties)) {
    throw badUserInput(`${field} must be an object`, { field });
  }
  const decoded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties as Record<string, Json>)) {
    if (value !== null) decoded[key] = decodeValue(value, `${field}.${key}`);
  }
  return decoded;
}
