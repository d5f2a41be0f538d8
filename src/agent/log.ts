// Structured logs for the agent: one JSON object per line (time, level, msg, then fields),
// which log collectors in a cluster parse without configuration. Values under keys that
// look like credentials are replaced, and credentials inside URLs in any string (a
// GitSync's URL quoted by git, say) redacted, before anything is written.

import { redactUrlCredentials } from "../model/safe-text.js";

export type LogLevel = "info" | "warn" | "error";

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export const REDACTED = "[REDACTED]";

const SECRET_KEY = /token|secret|password|key|authorization/i;
const RESERVED = new Set(["time", "level", "msg"]);
const MAX_DEPTH = 8;

/** Whether a field of this name is kept out of logs. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A JSON-safe copy of `value` with credential-like keys replaced, at any depth. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === "string") return redactUrlCredentials(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function" || typeof value === "symbol") return undefined;
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Truncated]";
  seen.add(value);
  try {
    // Error's own fields are not enumerable; name and message are what a reader needs.
    if (value instanceof Error) return { name: value.name, message: redactUrlCredentials(value.message) };
    if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
    if (value instanceof Date) return value.toISOString();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : redact(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

export interface LoggerOptions {
  /** The clock, for tests. */
  readonly now?: () => Date;
}

export function createLogger(stream: NodeJS.WritableStream = process.stderr, options: LoggerOptions = {}): Logger {
  const now = options.now ?? (() => new Date());
  const write = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    const line: Record<string, unknown> = { time: now().toISOString(), level, msg: redactUrlCredentials(msg) };
    for (const [k, v] of Object.entries(fields)) {
      if (RESERVED.has(k)) continue;
      line[k] = isSecretKey(k) ? REDACTED : redact(v);
    }
    stream.write(`${JSON.stringify(line)}\n`);
  };
  return {
    info: (msg, fields) => {
      write("info", msg, fields);
    },
    warn: (msg, fields) => {
      write("warn", msg, fields);
    },
    error: (msg, fields) => {
      write("error", msg, fields);
    },
  };
}
