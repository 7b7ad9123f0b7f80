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

/** The size limits every write enforces on what a client sends (see {@link checkInput}). */
export interface InputLimits {
  /** `content` and `systemPrompt`, in UTF-8 bytes. */
  maxContentBytes: number;
  /** Ids and other short strings (`agentId`, `userId`, …), in UTF-8 bytes. */
  maxIdBytes: number;
  /** Names and free text that is not content (workflow and branch `name`, `reason`), in UTF-8 bytes. */
  maxNameBytes: number;
  /** `metadata` serialised as JSON, in UTF-8 bytes. */
  maxMetadataBytes: number;
  /** How deeply `metadata` may nest objects and arrays (a flat object is depth 1). */
  maxMetadataDepth: number;
}

/**
 * False when the text holds a lone UTF-16 surrogate. `String.prototype.isWellFormed` (Node 20) is
 * newer than the TypeScript lib this project targets, hence the cast.
 */
const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/** The configuration's default limits, for code that builds a {@link Store} without a `Config` (tests, benchmarks). */
export const DEFAULT_INPUT_LIMITS: InputLimits = {
  maxContentBytes: 1024 * 1024,
  maxIdBytes: 256,
  maxNameBytes: 1024,
  maxMetadataBytes: 64 * 1024,
  maxMetadataDepth: 32,
};

/** Input fields held to {@link InputLimits.maxContentBytes}. */
const CONTENT_FIELDS = new Set(["content", "systemPrompt"]);
/** Input fields held to {@link InputLimits.maxNameBytes}; every other string is held to `maxIdBytes`. */
const NAME_FIELDS = new Set(["name", "reason"]);

/**
 * The one check every write operation runs on its whole input before anything else: each string
 * must be well-formed UTF-16 (a lone surrogate would be stored as U+FFFD while live subscribers
 * receive the original) and within its size limit, chosen by field name; `metadata` must be
 * within its byte and depth limits. Walks the input iteratively, so no input can overflow the stack.
 * @throws GraphQLError BAD_USER_INPUT naming the first offending field.
 */
export function checkInput(limits: InputLimits, input: unknown, field: string): void {
  const pending: { value: unknown; field: string; key: string }[] = [{ value: input, field, key: field }];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const { value, field: path, key } = item;
    if (typeof value === "string") {
      const limit = CONTENT_FIELDS.has(key)
        ? limits.maxContentBytes
        : NAME_FIELDS.has(key)
          ? limits.maxNameBytes
          : limits.maxIdBytes;
      checkText(value, limit, path);
    } else if (key === "metadata" && value !== null && value !== undefined) {
      checkMetadata(limits, value, path);
      checkUsage(value, path);
    } else if (Array.isArray(value)) {
      value.forEach((element, index) => pending.push({ value: element, field: `${path}[${index}]`, key }));
    } else if (value !== null && typeof value === "object") {
      for (const [name, child] of Object.entries(value)) {
        pending.push({ value: child, field: `${path}.${name}`, key: name });
      }
    }
  }
}

/**
 * Rejects text that is not well-formed UTF-16 or is larger than `maxBytes` (counted in UTF-8 bytes).
 * @throws GraphQLError BAD_USER_INPUT naming `field`.
 */
export function checkText(value: string, maxBytes: number, field: string): void {
  if (!isWellFormed(value)) {
    throw badUserInput(`${field} holds a lone UTF-16 surrogate; text must be well-formed Unicode`, { field });
  }
  checkContent(value, maxBytes, field);
}

/**
 * Rejects metadata nested deeper than the limit, larger than the limit once serialised, or holding
 * a key or string that is not well-formed; iterative, so a 10,000-deep object is an input error,
 * not a stack overflow.
 * @throws GraphQLError BAD_USER_INPUT naming `field`.
 */
export function checkMetadata(limits: InputLimits, metadata: unknown, field: string): void {
  const { maxMetadataDepth: maxDepth, maxMetadataBytes: maxBytes } = limits;
  const tooLarge = () => badUserInput(`${field} is larger than ${maxBytes} bytes as JSON`, { field, limit: maxBytes });
  const illFormed = () =>
    badUserInput(`${field} holds a lone UTF-16 surrogate; text must be well-formed Unicode`, { field });
  // A lower bound of the serialised size, kept as the walk goes so that a huge value fails early.
  let bytes = 0;
  const pending: { value: unknown; depth: number }[] = [{ value: metadata, depth: 0 }];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const { value, depth } = item;
    if (typeof value === "string") {
      if (!isWellFormed(value)) throw illFormed();
      bytes += Buffer.byteLength(value, "utf8") + 2;
    } else if (Array.isArray(value)) {
      if (depth >= maxDepth) throw tooDeep(field, maxDepth);
      bytes += 2;
      for (const child of value) pending.push({ value: child, depth: depth + 1 });
    } else if (value !== null && typeof value === "object") {
      if (depth >= maxDepth) throw tooDeep(field, maxDepth);
      bytes += 2;
      for (const [key, child] of Object.entries(value)) {
        if (!isWellFormed(key)) throw illFormed();
        bytes += Buffer.byteLength(key, "utf8") + 3;
        pending.push({ value: child, depth: depth + 1 });
      }
    } else {
      bytes += String(value).length;
    }
    if (bytes > maxBytes) throw tooLarge();
  }
  // Bounded in depth and size now, so serialising is safe; it gives the exact size (with escapes).
  if (Buffer.byteLength(JSON.stringify(metadata), "utf8") > maxBytes) throw tooLarge();
}

function tooDeep(field: string, maxDepth: number) {
  return badUserInput(`${field} nests deeper than ${maxDepth} levels`, { field, limit: maxDepth });
}

/**
 * A decision cannot offer the node it is added under, or any node above that (the root included):
 * choosing it would lead back up the path that reached the decision.
 * @param ancestorIds the new decision's parent and every node above it.
 * @throws GraphQLError BAD_USER_INPUT naming the first such option's `existingNodeId`.
 */
export function checkNoAncestorOptions(
  options: readonly { existingNodeId: string | null; field: string }[],
  ancestorIds: ReadonlySet<string>,
): void {
  for (const { existingNodeId, field } of options) {
    if (existingNodeId !== null && ancestorIds.has(existingNodeId)) {
      throw badUserInput(
        `Node ${existingNodeId} is the decision's parent or above it; a decision cannot offer its own ancestors`,
        { field: `${field}.existingNodeId` },
      );
    }
  }
}

/** `metadata.usage`'s fields that must be non-negative integers (token counts). */
const USAGE_INTEGERS = ["inputTokens", "outputTokens"] as const;
/** `metadata.usage`'s fields that must be non-negative finite numbers. */
const USAGE_NUMBERS = ["costUsd", "latencyMs"] as const;

/**
 * The usage convention (docs/search-and-analytics.md): `metadata.usage`, when present, is an
 * object whose known fields have these types, each optional: `model` a non-empty string,
 * `inputTokens` and `outputTokens` non-negative integers, `costUsd` and `latencyMs` non-negative
 * finite numbers. Other keys inside `usage` are kept as written (a client may record more, such as
 * cached tokens); analytics read only the known ones. `usage: null` means no usage.
 * @throws GraphQLError BAD_USER_INPUT naming the offending field (e.g. `input.metadata.usage.costUsd`).
 */
export function checkUsage(metadata: unknown, field: string): void {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) return;
  if (!Object.prototype.hasOwnProperty.call(metadata, "usage")) return;
  const usage = (metadata as Record<string, unknown>).usage;
  const path = `${field}.usage`;
  if (usage === null) return;
  if (typeof usage !== "object" || Array.isArray(usage)) {
    throw badUserInput(`${path} must be an object {model, inputTokens, outputTokens, costUsd, latencyMs}`, {
      field: path,
    });
  }
  const fields = usage as Record<string, unknown>;
  const present = (name: string) => fields[name] !== undefined && fields[name] !== null;
  if (present("model") && (typeof fields.model !== "string" || fields.model.trim() === "")) {
    throw badUserInput(`${path}.model must be a non-empty string`, { field: `${path}.model` });
  }
  for (const name of USAGE_INTEGERS) {
    const value = fields[name];
    if (present(name) && !(typeof value === "number" && Number.isSafeInteger(value) && value >= 0)) {
      throw badUserInput(`${path}.${name} must be an integer of 0 or more`, { field: `${path}.${name}` });
    }
  }
  for (const name of USAGE_NUMBERS) {
    const value = fields[name];
    if (present(name) && !(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
      throw badUserInput(`${path}.${name} must be a number of 0 or more`, { field: `${path}.${name}` });
    }
  }
}
