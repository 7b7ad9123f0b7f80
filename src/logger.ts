import type { LogLevel } from "./config";
import { currentRequestId } from "./request-context";

/**
 * A structured logger that writes one JSON line per entry to stderr. A line written while serving
 * a request carries its `requestId` (see src/request-context.ts) unless the fields name one.
 */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/** @param write where each line goes (a test captures them here). @default stderr */
export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (at: Exclude<LogLevel, "silent">) => (message: string, fields?: Record<string, unknown>) => {
    if (RANK[at] > RANK[level]) return;
    const requestId = currentRequestId();
    const line = { time: new Date().toISOString(), level: at, message, ...(requestId && { requestId }) };
    write(JSON.stringify({ ...line, ...serialize(fields) }) + "\n");
  };
  return { error: emit("error"), warn: emit("warn"), info: emit("info"), debug: emit("debug") };
}

function serialize(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack }
        : value;
  }
  return out;
}
