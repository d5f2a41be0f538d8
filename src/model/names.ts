// Names are validated here and only here. A team name becomes a namespace, a label value
// and the prefix of cluster-scoped object names, so it must be a DNS-1123 label short
// enough that every name derived from it is a DNS-1123 label too.

import { parse } from "yaml";

/** tenantry's own namespace: the admin repo's GitSync, the agent, the admin deploy key. */
export const SYSTEM_NAMESPACE = "tenantry-system";

/** The team's identity: ServiceAccount `<team>` in namespace `<team>`. */
export function teamUser(team: string): string {
  return `system:serviceaccount:${team}:${team}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// `tenantry` is the project's own name (its ClusterRoles, labels and images); a name ending in
// `-system` is a system namespace by convention, and KubeFlex owns `<team>-system` for a team
// on its own control plane (model/controlplane.ts).
const RESERVED_EXACT = new Set(["default", "tenantry", SYSTEM_NAMESPACE]);

/** Suffixes appended to a team name for cluster-scoped objects (see render/). */
export const TEAM_NAME_SUFFIXES = [
  "-resources",
  "-registries",
  "-image-tags",
  "-service-types",
  "-pull-policy",
  "-node-pool",
  "-deploy-key",
  "-admin-owned",
  "-agent-id",
  "-baseline",
  "-system",
] as const;

export const MAX_TEAM_NAME_LENGTH = 63 - Math.max(...TEAM_NAME_SUFFIXES.map((s) => s.length));

/** Problems with `name` as a DNS-1123 label of at most `max` characters; [] when valid. */
export function dnsLabelProblems(what: string, name: string, max = 63): string[] {
  if (name.length === 0) return [`${what} is empty: give a lowercase name like "team1"`];
  const problems: string[] = [];
  if (name.length > max) {
    problems.push(`${what} "${name}" is ${name.length} characters long: use at most ${max}`);
  }
  if (!DNS_LABEL.test(name)) {
    problems.push(
      `${what} "${name}" is not a DNS-1123 label: use lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return problems;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Problems with `name` as a DNS-1123 subdomain (an object name) of at most 253 characters. */
export function dnsSubdomainProblems(what: string, name: string): string[] {
  if (name.length === 0) return [`${what} is empty: give a lowercase name like "team1"`];
  if (name.length > 253) return [`${what} is ${name.length} characters long: use at most 253`];
  return DNS_SUBDOMAIN.test(name)
    ? []
    : [`${what} "${name}" is not a DNS-1123 subdomain: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`];
}

/** yamlReading's answers so far: a name is checked each time a plan reads a team spec (1000 teams: 0.5 s of parsing). */
const readings = new Map<string, { what: string; fix: string } | undefined>();

/** What YAML reads `value` as when that is not the string itself, in words; undefined when it is. */
function yamlReading(value: string): { what: string; fix: string } | undefined {
  if (readings.has(value)) return readings.get(value);
  const reading = readingOf(value);
  if (readings.size >= 10_000) readings.clear();
  readings.set(value, reading);
  return reading;
}

function readingOf(value: string): { what: string; fix: string } | undefined {
  // YAML 1.1 as well: it reads yes/no/on/off/y/n as booleans, 0b101 as a number and
  // 2024-05-01 as a date, and readers of either version meet the files tenantry writes.
  for (const version of ["1.2", "1.1"] as const) {
    const read: unknown = parse(value, { version });
    if (read === value) continue;
    // The yaml library's YAML 1.1 floats take "e3" as NaN (the spec's need a dot); a DNS
    // label cannot spell YAML's own NaN (.nan), so NaN is only that slip.
    if (typeof read === "number" && Number.isNaN(read)) continue;
    if (typeof read === "number") return { what: "a number", fix: "start it with a letter" };
    if (read instanceof Date) return { what: "a date", fix: "start it with a letter" };
    const what = typeof read === "boolean" ? "a boolean" : read === null ? "null" : "something other than text";
    return { what, fix: `choose another name, e.g. "${value}-team"` };
  }
  return undefined;
}

/**
 * Problems with `name` written bare into YAML (the templates write team names and
 * --allow-from namespaces unquoted): a valid DNS label YAML reads as a number, boolean, null
 * or date (010, 1e3, true, null, yes, 2024-05-01) would not be that name once read back.
 * `fix` replaces the advice to choose another name, for a name the user cannot choose.
 */
export function yamlScalarProblems(what: string, name: string, fix?: string): string[] {
  if (!DNS_LABEL.test(name)) return [];
  const reading = yamlReading(name);
  return reading === undefined ? [] : [`${what} "${name}" reads as ${reading.what} in YAML: ${fix ?? reading.fix}`];
}

/** Whether `name` is a namespace no team may have: default, tenantry, tenantry-system, kube-*, *-system. */
export function isReservedNamespace(name: string): boolean {
  return RESERVED_EXACT.has(name) || name.startsWith("kube-") || name.endsWith("-system");
}

/** Problems with `name` as a team name, reserved names and names YAML reads as no string included. */
export function teamNameProblems(name: string): string[] {
  const problems = dnsLabelProblems("team name", name, MAX_TEAM_NAME_LENGTH);
  problems.push(...yamlScalarProblems("team name", name));
  if (isReservedNamespace(name)) {
    problems.push(
      `team name "${name}" is reserved (default, tenantry, kube-*, *-system): choose another name`,
    );
  }
  return problems;
}

/** Problems with `name` as a namespace reference (e.g. --allow-from); reserved names allowed. */
export function namespaceProblems(what: string, name: string): string[] {
  return dnsLabelProblems(what, name);
}

const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Problems with a Kubernetes label key such as `tenantry.dev/pool`. */
export function labelKeyProblems(what: string, key: string): string[] {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const ok =
    name.length > 0 &&
    name.length <= 63 &&
    LABEL_NAME.test(name) &&
    (prefix === undefined || (prefix.length <= 253 && LABEL_PREFIX.test(prefix)));
  return ok ? [] : [`${what} "${key}" is not a valid label key: use e.g. "tenantry.dev/pool"`];
}

/** Problems with a Kubernetes label value. */
export function labelValueProblems(what: string, value: string): string[] {
  const ok = value === "" || (value.length <= 63 && LABEL_NAME.test(value));
  return ok ? [] : [`${what} "${value}" is not a valid label value: use at most 63 letters, digits, '-', '_' or '.'`];
}

/** The directory an admin repo path sits in under cluster/ (`cluster/<dir>/…`: a team's overlay, or common, or teams), or undefined. */
export function clusterDirOf(path: string | null | undefined): string | undefined {
  return /^cluster\/([^/]+)\//.exec(path ?? "")?.[1];
}
