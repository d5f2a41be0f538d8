// The pinned outside programs and where each one is: the only place that decides which
// binary runs. It reads the same table scripts/install-tools.sh builds from (tools/tools.txt,
// versions in tools/versions.env), so the two can never disagree about a cache directory.
//
// Only the pinned version ever runs. A binary is taken from, in order:
//   1. $TENANTRY_<NAME> (e.g. TENANTRY_BUILD), when its version is exactly the pin;
//   2. the cache directory install-tools.sh built (named by version, so trusted as is);
//   3. the binary on PATH, for tools that report their version, when it is exactly the pin.
// Anything else is a ToolError (exit 4) naming the pin and the install command. No kustomize
// binary runs at all: every build goes through the build service (src/build/service.ts),
// built with the pinned kustomize API.

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ToolError } from "./errors.js";
import { cacheDir, packageRoot, tenantryVersion } from "./paths.js";

export type PinnedVersionKey = "KUBERNETES_VERSION" | "ETCD_VERSION" | "KUSTOMIZE_VERSION" | "KUSTOMIZE_API_VERSION" | "FLUX_KUSTOMIZE_VERSION" | "GATOR_VERSION" | "CYCLONUS_VERSION";

/** One row of tools/tools.txt. */
export interface ToolRow {
  readonly name: string;
  readonly kind: "go" | "deb";
  /** The key in tools/versions.env (go rows). */
  readonly versionKey: string | undefined;
  readonly provides: readonly string[];
  /** `demo`, `test`, or `USE+OPTION`. */
  readonly neededBy: readonly string[];
  /** Files of this repository hashed into the cache directory's name. */
  readonly inputs: readonly string[];
  readonly from: string;
}

/** Parses tools/tools.txt. Pure. */
export function parseToolTable(text: string): ToolRow[] {
  const rows: ToolRow[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [name = "", kind = "", version = "", provides = "", neededBy = "", inputs = "", ...from] = line.split(/\s+/);
    if (kind !== "go" && kind !== "deb") throw new Error(`tools/tools.txt: row ${name} has kind '${kind}', not go or deb`);
    const list = (field: string): string[] => (field === "-" || field === "" ? [] : field.split(","));
    rows.push({ name, kind, versionKey: version === "-" ? undefined : version, provides: list(provides), neededBy: list(neededBy), inputs: list(inputs), from: from.join(" ") });
  }
  return rows;
}

/** The rows `use` (demo or test) needs, with the given options: what `install-tools.sh --for` installs. Pure. */
export function rowsNeededBy(rows: readonly ToolRow[], use: string, options: readonly string[] = []): ToolRow[] {
  return rows.filter((r) => r.neededBy.some((token) => token === use || options.some((o) => token === `${use}+${o}`)));
}

/** Parses tools/versions.env (KEY=VALUE lines). Pure. */
export function parseVersions(text: string): Record<string, string> {
  const entries = text
    .split("\n")
    .map((l) => /^([A-Z_]+)=(\S+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1] ?? "", m[2] ?? ""] as const);
  return Object.fromEntries(entries);
}

let table: readonly ToolRow[] | undefined;
let versions: Readonly<Record<string, string>> | undefined;

export function toolTable(): readonly ToolRow[] {
  return (table ??= parseToolTable(readFileSync(join(packageRoot, "tools", "tools.txt"), "utf8")));
}

export function pinnedVersion(key: PinnedVersionKey): string {
  versions ??= parseVersions(readFileSync(join(packageRoot, "tools", "versions.env"), "utf8"));
  const v = versions[key];
  if (v === undefined) throw new Error(`tools/versions.env has no ${key}`);
  return v;
}

/** The versions generated files name (render/context.ts's Versions): CI workflows install exactly these. */
export function generatedVersions(): { tenantry: string; kustomize: string; gatekeeper: string } {
  return { tenantry: tenantryVersion(), kustomize: pinnedVersion("KUSTOMIZE_VERSION"), gatekeeper: pinnedVersion("GATOR_VERSION") };
}

/** The Pod Security version that matches the pinned Kubernetes minor (v1.34.4 -> v1.34). */
export function podSecurityVersion(): string {
  return /^(v\d+\.\d+)/.exec(pinnedVersion("KUBERNETES_VERSION"))?.[1] ?? "latest";
}

function row(name: string): ToolRow & { versionKey: PinnedVersionKey } {
  const r = toolTable().find((t) => t.name === name);
  if (r?.kind !== "go" || r.versionKey === undefined) throw new Error(`tools/tools.txt has no Go-built tool ${name}`);
  return r as ToolRow & { versionKey: PinnedVersionKey };
}

/** The cache directory install-tools.sh builds `name` into: `<name>-<version>[-<hash of inputs>]`. */
export function toolCacheDir(name: string): string {
  const r = row(name);
  let dir = `${r.name}-${pinnedVersion(r.versionKey)}`;
  if (r.inputs.length > 0) {
    const hash = createHash("sha256");
    for (const f of r.inputs) hash.update(readFileSync(join(packageRoot, f)));
    dir += `-${hash.digest("hex").slice(0, 12)}`;
  }
  return join(cacheDir(), "bin", dir);
}

/** How to find one binary of the table. */
interface Binary {
  /** The table row that builds it. */
  readonly tool: string;
  readonly file: string;
  readonly env: string;
  /** Arguments that print the version, and where it is in the output. */
  readonly versionArgs: readonly string[];
  readonly versionPattern: RegExp;
  /** Put before what versionPattern captures (a tool that prints 3.13.3 for the pin v3.13.3). */
  readonly versionPrefix?: string;
  /** Whether a binary of that name on PATH may be used (never for tenantry's own tools). */
  readonly onPath: boolean;
  /** How messages name it. */
  readonly label: string;
}

const BINARIES = {
  build: {
    tool: "build",
    file: "tenantry-build",
    env: "TENANTRY_BUILD",
    versionArgs: ["--version"],
    versionPattern: /kustomize\/api (v\d+\.\d+\.\d+\S*)/,
    onPath: false,
    label: "tenantry-build (the build service, kustomize/api)",
  },
  "build-sops": {
    tool: "build-sops",
    file: "tenantry-build-sops",
    env: "TENANTRY_BUILD_SOPS",
    versionArgs: ["--version"],
    versionPattern: /sops (v\d+\.\d+\.\d+\S*)/,
    onPath: false,
    label: "tenantry-build-sops (the build service that decrypts SOPS files, getsops/sops)",
  },
  gator: { tool: "gator", file: "gator", env: "TENANTRY_GATOR", versionArgs: ["--version"], versionPattern: /gator version (v\d+\.\d+\.\d+\S*)/, onPath: true, label: "gator" },
  celcheck: {
    tool: "celcheck",
    file: "tenantry-celcheck",
    env: "TENANTRY_CELCHECK",
    versionArgs: ["--version"],
    versionPattern: /^tenantry-celcheck (v\d+\.\d+\.\d+\S*)/m,
    onPath: false,
    label: "tenantry-celcheck (ValidatingAdmissionPolicy checker)",
  },
  netcheck: {
    tool: "netcheck",
    file: "tenantry-netcheck",
    env: "TENANTRY_NETCHECK",
    versionArgs: ["--version"],
    versionPattern: /^tenantry-netcheck cyclonus (v\d+\.\d+\.\d+\S*)/m,
    onPath: false,
    label: "tenantry-netcheck (NetworkPolicy judge, cyclonus)",
  },
  sops: { tool: "sops", file: "sops", env: "TENANTRY_SOPS", versionArgs: ["--version", "--disable-version-check"], versionPattern: /^sops (\d+\.\d+\.\d+\S*)/m, versionPrefix: "v", onPath: true, label: "the sops CLI" },
  kubectl: { tool: "kubectl", file: "kubectl", env: "TENANTRY_KUBECTL", versionArgs: ["version", "--client"], versionPattern: /^Client Version: (v\d+\.\d+\.\d+\S*)/m, onPath: true, label: "kubectl" },
} as const satisfies Record<string, Binary>;

export type BinaryName = keyof typeof BINARIES;

export interface FoundBinary {
  readonly file: string;
  /** Where it was found, for messages: `TENANTRY_KUSTOMIZE (v5.8.1)`, `cache (v5.8.1)`, `PATH (v5.8.1)`. */
  readonly source: string;
}

/** What `file` says its version is, or undefined when it cannot say (missing, not runnable). */
function versionOf(file: string, b: Binary): string | undefined {
  try {
    const out = execFileSync(file, [...b.versionArgs], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
    const v = b.versionPattern.exec(out)?.[1];
    return v === undefined ? undefined : `${b.versionPrefix ?? ""}${v}`;
  } catch {
    return undefined;
  }
}

/** What each lookup found (or why it failed): a process asks each binary its version at most once. */
const found = new Map<BinaryName, FoundBinary | ToolError>();

/** The pinned `name`, or a ToolError (exit 4) naming the pin and `scripts/install-tools.sh <tool>`. */
export function findBinary(name: BinaryName): FoundBinary {
  let hit = found.get(name);
  if (hit === undefined) {
    try {
      hit = locate(name);
    } catch (e) {
      if (!(e instanceof ToolError)) throw e;
      hit = e;
    }
    found.set(name, hit);
  }
  if (hit instanceof ToolError) throw hit;
  return hit;
}

function locate(name: BinaryName): FoundBinary {
  const b: Binary = BINARIES[name];
  const pinned = pinnedVersion(row(b.tool).versionKey);
  const install = `run scripts/install-tools.sh ${b.tool} (builds it with Go)`;
  let result: FoundBinary | undefined;
  const fromEnv = process.env[b.env];
  if (fromEnv !== undefined && fromEnv !== "") {
    const v = versionOf(fromEnv, b);
    if (v !== pinned) {
      const is = v === undefined ? (existsSync(fromEnv) ? "does not report a version" : "does not exist") : `is ${v}`;
      throw new ToolError(`${b.env}=${fromEnv} ${is}, not the pinned ${b.label} ${pinned}: ${install} and unset ${b.env}, or point it at ${pinned}`);
    }
    result = { file: fromEnv, source: `${b.env} (${v})` };
  }
  if (result === undefined) {
    const cached = join(toolCacheDir(b.tool), b.file);
    if (existsSync(cached)) result = { file: cached, source: `cache (${pinned})` };
  }
  let other = "";
  if (result === undefined && b.onPath) {
    const v = versionOf(b.file, b);
    if (v === pinned) result = { file: b.file, source: `PATH (${v})` };
    else if (v !== undefined) other = ` (the ${b.file} on PATH is ${v})`;
  }
  if (result === undefined) throw new ToolError(`${b.label} ${pinned} not found${other}: ${install}, or set ${b.env} to a ${b.file} ${pinned}`);
  return result;
}
