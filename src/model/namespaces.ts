// A team's namespaces (issue 20): its home namespace `<team>` (its ServiceAccount, GitSync,
// agent, deploy key and secrets live there) and extra namespaces `<team>-<name>` that
// `create-team --namespaces` asks for. The tier is the team's total: `splitQuota` divides the
// tier's quota among the team's namespaces by the rule in tenantry.yaml
// (`spec.namespaceQuota`), rounding down, so the sum over the team never exceeds the tier.
// Pure: names, problems and arithmetic only.

import { dnsLabelProblems, isReservedNamespace } from "./names.js";
import { quantityValue } from "./quantity.js";

/** The weight name that stands for the team's home namespace in `namespaceQuota.weights`. */
export const HOME = "home";

/**
 * How a team's tier quota is divided among its namespaces. `even`: every namespace the same
 * part. `weighted`: a namespace's part is its weight over the sum of the team's weights; a
 * namespace not in `weights` weighs 1 (`home` names the home namespace). A team with only its
 * home namespace always gets the whole tier.
 */
export type NamespaceQuotaRule = { readonly split: "even" } | { readonly split: "weighted"; readonly weights: Readonly<Record<string, number>> };

export const DEFAULT_NAMESPACE_QUOTA: NamespaceQuotaRule = { split: "even" };

/** The full name of the team's extra namespace `name`. */
export function extraNamespace(team: string, name: string): string {
  return `${team}-${name}`;
}

/** Every namespace of the team: home first, then the extra ones in the order given. */
export function teamNamespaces(team: string, extra: readonly string[]): string[] {
  return [team, ...extra.map((n) => extraNamespace(team, n))];
}

/** Problems with the extra namespace names of `team` on their own (not against other teams). */
export function extraNamespaceProblems(team: string, names: readonly string[]): string[] {
  const problems: string[] = [];
  const max = 63 - team.length - 1;
  for (const n of names) {
    const p = dnsLabelProblems(`--namespaces "${n}"`, n, max);
    if (p.length > 0) {
      problems.push(...p.map((x) => (x.includes("characters") ? `${x} (${extraNamespace(team, n)} must be a DNS label of at most 63)` : x)));
      continue;
    }
    if (n === HOME) problems.push(`--namespaces "${n}": "${HOME}" names the team's home namespace ${team} in tenantry.yaml's namespaceQuota.weights; pick another name`);
    if (n === "system" || n.endsWith("-system")) problems.push(`--namespaces "${n}": ${extraNamespace(team, n)} ends in -system, which is reserved (KubeFlex and system components own such namespaces); pick another name`);
    // Team `kube` with `public` would be kube-public: the full name is held to the reserved names too.
    else if (isReservedNamespace(extraNamespace(team, n))) problems.push(`--namespaces "${n}": ${extraNamespace(team, n)} is a reserved namespace (default, tenantry, kube-*, *-system); pick another name`);
  }
  if (new Set(names).size !== names.length) problems.push(`--namespaces names a namespace twice: ${names.join(",")}`);
  return problems;
}

/** A team as collisions see it: its name and extra namespace names. */
export interface TeamNamespaces {
  readonly name: string;
  readonly namespaces: readonly string[];
}

/**
 * Problems when `team`'s namespaces (home and extra) would be a namespace another team has
 * (its home or an extra one), e.g. team `a` with `b-c` and team `a-b` with `c`.
 */
export function namespaceCollisionProblems(team: TeamNamespaces, others: readonly TeamNamespaces[]): string[] {
  const taken = new Map<string, string>();
  for (const o of others) {
    if (o.name === team.name) continue;
    for (const ns of teamNamespaces(o.name, o.namespaces)) taken.set(ns, o.name === ns ? `team ${o.name}` : `team ${o.name}'s namespace ${ns}`);
  }
  const problems: string[] = [];
  for (const ns of teamNamespaces(team.name, team.namespaces)) {
    const owner = taken.get(ns);
    if (owner === undefined) continue;
    problems.push(ns === team.name ? `team name "${team.name}" is already ${owner}: pick another name` : `namespace ${ns} of team ${team.name} is already ${owner}: pick another name in --namespaces`);
  }
  return problems;
}

/** Problems with a namespaceQuota rule as read from tenantry.yaml (`at` names where). */
export function namespaceQuotaProblems(at: string, rule: NamespaceQuotaRule): string[] {
  if (rule.split === "even") return [];
  const problems: string[] = [];
  for (const [name, w] of Object.entries(rule.weights)) {
    if (name !== HOME) problems.push(...dnsLabelProblems(`${at}.weights: namespace name`, name));
    if (!Number.isInteger(w) || w < 1 || w > 1000) problems.push(`${at}.weights.${name}: ${w} is not a whole number from 1 to 1000`);
  }
  return problems;
}

/** The weight of each of the team's namespaces (home first) under `rule`. */
export function namespaceWeights(extra: readonly string[], rule: NamespaceQuotaRule): number[] {
  // Own keys only: `constructor` is a namespace name, not Object's.
  const weightOf = (n: string): number => (rule.split === "weighted" && Object.hasOwn(rule.weights, n) ? (rule.weights[n] ?? 1) : 1);
  return [weightOf(HOME), ...extra.map(weightOf)];
}

type Unit = "milli" | "bytes" | "count";

function unitOf(key: string): Unit {
  if (key.endsWith(".cpu")) return "milli";
  if (key.endsWith(".memory") || key.endsWith(".ephemeral-storage")) return "bytes";
  return "count";
}

const BINARY: readonly [string, number][] = [
  ["Ti", 2 ** 40],
  ["Gi", 2 ** 30],
  ["Mi", 2 ** 20],
  ["Ki", 2 ** 10],
];

/** A quantity in `unit` written as Kubernetes would: 1500m, 2, 512Mi, 1000. */
function formatQuantity(amount: number, unit: Unit): string {
  if (unit === "milli") return amount % 1000 === 0 ? String(amount / 1000) : `${amount}m`;
  if (unit === "count") return String(amount);
  for (const [suffix, size] of BINARY) if (amount !== 0 && amount % size === 0) return `${amount / size}${suffix}`;
  return String(amount);
}

/** A quota value in its smallest whole unit (millicores, bytes, objects), rounded down. */
function smallest(value: string, unit: Unit): number {
  const v = quantityValue(value) ?? 0;
  return Math.floor(unit === "milli" ? Math.round(v * 1e6) / 1e3 : v);
}

/**
 * What is left of `total` (a tier's quota) once each of `taken` has its quota, key by key in the
 * key's smallest unit. A key of `total` that would be left with none (or less) is a problem:
 * the team's home namespace needs some of everything its tier bounds.
 */
export function remainingQuota(total: Readonly<Record<string, string>>, taken: readonly { readonly what: string; readonly quota: Readonly<Record<string, string>> }[], fix: string): { readonly rest: Record<string, string>; readonly problems: string[] } {
  const rest: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(total)) {
    const unit = unitOf(key);
    const whole = smallest(value, unit);
    let left = whole;
    for (const t of taken) {
      const v = t.quota[key];
      if (v !== undefined) left -= smallest(v, unit);
    }
    // None left of what the tier has, or more taken than it has (a tier of 0 included).
    if (taken.length > 0 && (left < 0 || (left === 0 && whole > 0))) {
      const used = taken.filter((t) => t.quota[key] !== undefined).map((t) => `${t.what} ${t.quota[key] ?? ""}`).join(", ");
      problems.push(`${key}: ${used} take all of the tier's ${value}${left < 0 ? " and more" : ""}, leaving the team's other namespaces none: ${fix}`);
    }
    rest[key] = taken.length === 0 ? value : formatQuantity(Math.max(left, 0), unit);
  }
  return { rest, problems };
}

export interface QuotaSplit {
  /** Per namespace (home first), the quota it gets: the same keys as the tier's. */
  readonly parts: readonly { readonly namespace: string; readonly quota: Readonly<Record<string, string>> }[];
  /** A key a namespace would get none of while the tier has some: the split is refused. */
  readonly problems: readonly string[];
}

/**
 * Divides `quota` (the tier's, the team's total) among the team's namespaces by `rule`: each
 * part is rounded down in the key's smallest unit, so the parts never add up to more than the
 * tier. With only the home namespace the quota is returned as it is, text for text.
 */
export function splitQuota(team: string, extra: readonly string[], quota: Readonly<Record<string, string>>, rule: NamespaceQuotaRule): QuotaSplit {
  const namespaces = teamNamespaces(team, extra);
  if (extra.length === 0) return { parts: [{ namespace: team, quota: { ...quota } }], problems: [] };
  const weights = namespaceWeights(extra, rule);
  const total = weights.reduce((a, b) => a + b, 0);
  const problems: string[] = [];
  const parts = namespaces.map((namespace, i) => {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(quota)) {
      const unit = unitOf(key);
      const whole = smallest(value, unit);
      const exact = Math.floor((whole * (weights[i] ?? 1)) / total);
      // Memory and storage round down to whole Mi where there is one: 2730Mi, not 2863311530.
      const part = unit === "bytes" && exact >= 2 ** 20 ? Math.floor(exact / 2 ** 20) * 2 ** 20 : exact;
      if (!Number.isFinite(part) || part < 0) problems.push(`${key} ${value} cannot be split for ${namespace}: fix the tier in tenantry.yaml`);
      else if (part === 0 && whole > 0) problems.push(`${key} ${value} split among ${namespaces.length} namespaces leaves ${namespace} none: pick a bigger tier, fewer namespaces, or give it more weight in tenantry.yaml's spec.namespaceQuota`);
      out[key] = formatQuantity(part, unit);
    }
    return { namespace, quota: out };
  });
  return { parts, problems };
}
