// Runs `kustomize build` on a directory and parses the object stream.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { ToolError } from "../errors.js";
import { findKustomize } from "./binary.js";

const run = promisify(execFile);

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Parses a stream of YAML documents into objects, refusing anything that is not one. */
export function parseObjects(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    const first = doc.errors[0];
    if (first !== undefined) throw new ToolError(`${source}: malformed YAML: ${first.message.split("\n")[0] ?? ""}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const o = value as Partial<KubeObject>;
    if (typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") {
      throw new ToolError(`${source}: a document is not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
    }
    objects.push(o as KubeObject);
  }
  return objects;
}

/** `kustomize build DIR`: the rendered YAML stream. Throws a ToolError with kustomize's message. */
export async function kustomizeBuildText(dir: string): Promise<string> {
  const k = findKustomize();
  try {
    const { stdout } = await run(k.file, [...k.prefix, "build", dir], { maxBuffer: 512 * 1024 * 1024, timeout: 120_000 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const detail = (err.stderr ?? err.message).trim().split("\n").filter(Boolean).slice(-1)[0] ?? "failed";
    throw new ToolError(`kustomize build ${dir} failed: ${detail}`);
  }
}

export async function kustomizeBuild(dir: string): Promise<KubeObject[]> {
  return parseObjects(await kustomizeBuildText(dir), `kustomize build ${dir}`);
}
