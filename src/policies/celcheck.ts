// Checks ValidatingAdmissionPolicies and their bindings with tenantry-celcheck (the API
// server's own validation and CEL compiler, tools/k8s/celcheck): what the cluster would
// refuse on create, and what its type checker would flag, known before anything is applied.

import { execFile } from "node:child_process";
import { ToolError } from "../errors.js";
import type { KubeObject } from "../model/object.js";
import { findBinary } from "../toolchain.js";

export const ADMISSION_GROUP = "admissionregistration.k8s.io";

export function isAdmissionPolicy(o: KubeObject): boolean {
  return o.apiVersion.startsWith(`${ADMISSION_GROUP}/`) && (o.kind === "ValidatingAdmissionPolicy" || o.kind === "ValidatingAdmissionPolicyBinding");
}

/** Parses the checker's `<index>\t<message>` lines into messages per input index. Pure. */
export function parseCelcheck(output: string): Map<number, string[]> {
  const found = new Map<number, string[]>();
  for (const line of output.split("\n")) {
    const m = /^(\d+)\t(.*)$/.exec(line);
    if (m === null) continue;
    const index = Number(m[1]);
    found.set(index, [...(found.get(index) ?? []), m[2] ?? ""]);
  }
  return found;
}

/** The problems of each object (by its index in `objects`); objects are sent as JSON documents. */
export async function checkAdmissionPolicies(objects: readonly KubeObject[]): Promise<Map<number, string[]>> {
  if (objects.length === 0) return new Map();
  const tool = findBinary("celcheck");
  const input = objects.map((o) => JSON.stringify(o)).join("\n");
  return new Promise((done, fail) => {
    const child = execFile(tool.file, [], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      // Exit 1 means "problems found", reported on stdout.
      if (err !== null && err.code !== 1) {
        fail(new ToolError(`tenantry-celcheck (${tool.source}) failed: ${stderr.trim().split("\n").slice(-1)[0] ?? err.message}`));
        return;
      }
      done(parseCelcheck(stdout));
    });
    child.stdin?.end(input);
  });
}
