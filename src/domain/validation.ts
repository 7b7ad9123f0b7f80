import { randomUUID } from "node:crypto";
import { badUserInput } from "../errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Returns the client's id (which must be a UUID) or a new one. */
export function idOrNew(id: string | null | undefined, field: string): string {
  if (id === undefined || id === null) return randomUUID();
  if (!UUID.test(id)) throw badUserInput(`${field} must be a UUID, got "${id}"`, { field });
  return id.toLowerCase();
}

/** Ids are UUIDs, compared case-insensitively: stored and looked up in lower case. */
export function normalizeId(id: string): string {
  return UUID.test(id) ? id.toLowerCase() : id;
}

/** Rejects content larger than the configured limit (counted in UTF-8 bytes). */
export function checkContent(content: string, maxBytes: number, field: string): void {
  const bytes = Buffer.byteLength(content, "utf8");
  if (bytes > maxBytes) {
    throw badUserInput(`${field} is ${bytes} bytes; the limit is ${maxBytes}`, { field, limit: maxBytes });
  }
}

/** Rejects blank required text. */
export function checkNotBlank(value: string, field: string): void {
  if (value.trim() === "") throw badUserInput(`${field} must not be empty`, { field });
}

/**
 * Serialises metadata (checked to be a JSON object by the scalar) to stored JSON text, with keys
 * sorted so that an idempotent retry compares equal whatever order the client sent them in.
 */
export function metadataText(metadata: Record<string, unknown> | null | undefined): string | null {
  return metadata === undefined || metadata === null ? null : JSON.stringify(sortKeys(metadata));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}
