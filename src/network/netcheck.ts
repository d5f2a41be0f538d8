// The I/O edge of the network analysis: one tenantry-netcheck process per batch of
// questions (tools/netcheck, cyclonus's NetworkPolicy engine), JSON in and out.

import { execFile } from "node:child_process";
import { ToolError } from "../errors.js";
import { findBinary, pinnedVersion } from "../toolchain.js";
import type { NetcheckAnswer, NetcheckInput } from "./matrix.js";

export interface NetcheckOutput {
  /** The cyclonus version that judged. */
  readonly engine: string;
  readonly answers: readonly NetcheckAnswer[];
}

export async function runNetcheck(input: NetcheckInput): Promise<NetcheckOutput> {
  const tool = findBinary("netcheck");
  if (input.queries.length === 0) return { engine: `cyclonus ${pinnedVersion("CYCLONUS_VERSION")}`, answers: [] };
  const stdout = await new Promise<string>((done, fail) => {
    const child = execFile(tool.file, [], { maxBuffer: 1024 * 1024 * 1024, timeout: 300_000 }, (err, out, stderr) => {
      if (err !== null) {
        fail(new ToolError(`tenantry-netcheck (${tool.source}) failed: ${stderr.trim().split("\n").slice(-1)[0] || err.message}`));
        return;
      }
      done(out);
    });
    child.stdin?.end(JSON.stringify(input));
  });
  let parsed: { cyclonus?: unknown; results?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new ToolError(`tenantry-netcheck (${tool.source}) answered something that is not JSON`);
  }
  const results = Array.isArray(parsed.results) ? (parsed.results as NetcheckAnswer[]) : [];
  if (results.length !== input.queries.length) throw new ToolError(`tenantry-netcheck (${tool.source}) answered ${results.length} of ${input.queries.length} questions`);
  return { engine: `cyclonus ${typeof parsed.cyclonus === "string" ? parsed.cyclonus : "?"}`, answers: results };
}
