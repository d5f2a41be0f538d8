// Printing results: tables for people, JSON and YAML for machines.

import { stringify } from "yaml";
import { safeCell, safeLines } from "../model/safe-text.js";

export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export type Row = Readonly<Record<string, string>>;

/** A plain text table (control characters escaped, URL credentials redacted): a header of the column names in upper case, columns padded. */
export function formatTable(columns: readonly string[], rows: readonly Row[]): string {
  // Cells hold what teams write (names, status messages): escaped, so a cell stays one cell.
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => safeCell(r[c] ?? "")))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd()).join("\n") + "\n";
}

export function formatData(format: Exclude<OutputFormat, "table">, data: unknown): string {
  return format === "json" ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { lineWidth: 0 });
}

export function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * A reader that stops early (`tenantry list | head -1`) closes the pipe: the rest of the
 * output is dropped instead of an unhandled EPIPE ending the process with a stack trace in
 * the middle of a command. The command still runs to its end and exits with its own code.
 */
export function tolerateClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount("error") > 0) continue;
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") return;
      throw e;
    });
  }
}

/** Progress and hints: to stderr, so stdout stays clean for machines. */
export function note(text: string): void {
  process.stderr.write(`${safeLines(text)}\n`);
}
