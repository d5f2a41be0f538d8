// Runs `gator verify` over a directory of generated suites and reads its report. One gator
// process per engine for all suites: K8sNativeValidation (CEL, gator's default, and what
// Gatekeeper evaluates when a template has both) and Rego
// (--enable-k8s-native-validation=false), so both implementations of every rule are tested.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ToolError } from "../errors.js";
import { findBinary } from "../toolchain.js";

const run = promisify(execFile);

export const ENGINES = ["CEL", "Rego"] as const;
export type Engine = (typeof ENGINES)[number];

export interface GatorFailure {
  readonly engine: Engine;
  readonly test: string;
  /** The failing case, or null when the test itself failed (e.g. its template did not compile). */
  readonly case: string | null;
  /** gator's reason, as it printed it (may span lines). */
  readonly detail: string;
}

export interface GatorRun {
  readonly failures: readonly GatorFailure[];
  /** Cases that ran, per engine. */
  readonly cases: number;
}

const STRUCTURE = /^(=== RUN {3}|--- (PASS|FAIL|SKIP): | {4}=== RUN {3}| {4}--- (PASS|FAIL|SKIP): |(ok|FAIL)\t|(PASS|FAIL)$|=== SKIP)/;

/** Parses `gator verify -v` output (Go-test style). Pure. */
export function parseVerify(engine: Engine, output: string): GatorRun {
  const failures: GatorFailure[] = [];
  let test = "";
  let cases = 0;
  let open: { case: string | null; lines: string[] } | null = null;
  const close = (): void => {
    if (open !== null) failures.push({ engine, test, case: open.case, detail: open.lines.join("\n").trim() });
    open = null;
  };
  for (const line of output.split("\n")) {
    if (!STRUCTURE.test(line)) {
      open?.lines.push(line.trim());
      continue;
    }
    close();
    let m: RegExpExecArray | null;
    if ((m = /^=== RUN {3}(.+)$/.exec(line)) !== null) test = m[1] ?? "";
    else if ((m = /^ {4}--- (PASS|FAIL): (.+?)\t/.exec(line)) !== null) {
      cases++;
      if (m[1] === "FAIL") open = { case: m[2] ?? "", lines: [] };
    } else if ((m = /^--- FAIL: (.+?)\t/.exec(line)) !== null) {
      test = m[1] ?? test;
      open = { case: null, lines: [] };
    }
  }
  close();
  // A test that failed only through its cases carries no detail of its own.
  return { failures: failures.filter((f) => f.case !== null || f.detail !== ""), cases };
}

/** `gator verify -v <dir>/...` with the given engine. */
export async function verifySuites(dir: string, engine: Engine): Promise<GatorRun> {
  const gator = findBinary("gator");
  const args = ["verify", "-v", ...(engine === "Rego" ? ["--enable-k8s-native-validation=false"] : []), `${dir}/...`];
  let stdout: string;
  try {
    ({ stdout } = await run(gator.file, args, { maxBuffer: 256 * 1024 * 1024, timeout: 600_000 }));
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: unknown; message: string };
    // Exit 1 with a report on stdout is "some test failed"; anything else is gator failing.
    if (err.code === 1 && typeof err.stdout === "string" && /^(PASS|FAIL)$/m.test(err.stdout)) stdout = err.stdout;
    else {
      const detail = (err.stderr ?? err.message).trim().split("\n").filter(Boolean).slice(-1)[0] ?? "failed";
      throw new ToolError(`gator verify (${gator.source}) failed: ${detail}`);
    }
  }
  return parseVerify(engine, stdout);
}
