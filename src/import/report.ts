// What an import found and what it made of it: the teams it will create and one line per
// thing it read, sorted into what maps one to one, what tenantry tightens, and what it could
// not map (the import then exits 3). Pure: built by the parsers, printed by the CLI.

import type { TeamOptions } from "../model/team-spec.js";

export const LAYOUTS = ["flux2-multi-tenancy", "flux-v1"] as const;
export type Layout = (typeof LAYOUTS)[number];

export type Verdict = "mapped" | "tightened" | "unmapped";

export interface ReportItem {
  readonly verdict: Verdict;
  /** The tenant the item belongs to; null for cluster-wide things. */
  readonly tenant: string | null;
  /** The source file (repo-relative) the item was read from. */
  readonly file: string;
  /** What was read: an object, a field, a flag. */
  readonly subject: string;
  /** What it became, or why it could not be mapped. */
  readonly detail: string;
}

/** One tenant as it becomes a tenantry team. */
export interface ImportedTeam {
  readonly tenant: string;
  readonly team: string;
  /** The tenant's namespace in the source (tenantry's is the team name). */
  readonly namespace: string;
  readonly repoUrl: string;
  readonly branch: string;
  /** The path in the team repo the source applied. */
  readonly path: string;
  readonly interval: string;
  /** The file the sync settings came from. */
  readonly file: string;
}

/** What a parser returns: pure, before any tenantry validation. */
export interface ParsedSource {
  readonly layout: Layout;
  /** The environment read (flux2-multi-tenancy's tenants/<env>), or null. */
  readonly env: string | null;
  /** The admin repo's own URL, when the source names it. */
  readonly adminGitUrl: string | null;
  readonly teams: readonly ImportedTeam[];
  readonly items: readonly ReportItem[];
}

/** The create-team options of an imported team. */
export function teamOptions(t: ImportedTeam): TeamOptions {
  return { repoUrl: t.repoUrl, branch: t.branch, interval: t.interval };
}

export interface ImportReport {
  readonly layout: Layout;
  readonly source: string;
  readonly env: string | null;
  readonly out: string;
  readonly cluster: string;
  readonly engine: string;
  readonly commit: string | null;
  readonly teams: readonly ImportedTeam[];
  readonly mapped: readonly ReportItem[];
  readonly tightened: readonly ReportItem[];
  readonly unmapped: readonly ReportItem[];
}

export function buildReport(
  head: Pick<ImportReport, "source" | "out" | "cluster" | "engine" | "commit">,
  parsed: Pick<ParsedSource, "layout" | "env" | "teams" | "items">,
): ImportReport {
  const pick = (v: Verdict): ReportItem[] => parsed.items.filter((i) => i.verdict === v);
  return { layout: parsed.layout, env: parsed.env, ...head, teams: parsed.teams, mapped: pick("mapped"), tightened: pick("tightened"), unmapped: pick("unmapped") };
}

function section(title: string, items: readonly ReportItem[]): string[] {
  if (items.length === 0) return [];
  const lines = [`${title} (${items.length}):`];
  for (const i of items) lines.push(`  ${i.file}: ${i.tenant === null ? "" : `[${i.tenant}] `}${i.subject}: ${i.detail}`);
  return lines;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => `  ${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join("  ")}`.trimEnd());
}

/** The report for people. */
export function formatReport(r: ImportReport): string {
  const env = r.env === null ? "" : ` (environment ${r.env})`;
  const teams = `${r.teams.length} team${r.teams.length === 1 ? "" : "s"}`;
  const lines = [
    `Imported ${r.layout}${env} from ${r.source} into ${r.out}: cluster ${r.cluster}, engine ${r.engine}, ${teams}${r.commit === null ? "" : `, commit ${r.commit.slice(0, 7)}`}.`,
  ];
  if (r.teams.length > 0) {
    lines.push("", "Teams:");
    const rows = [["TENANT", "TEAM", "NAMESPACE", "REPO", "BRANCH", "PATH", "INTERVAL"]];
    for (const t of r.teams) rows.push([t.tenant, t.team, t.namespace === t.team ? t.team : `${t.namespace} -> ${t.team}`, t.repoUrl, t.branch, t.path === "./" ? t.path : `${t.path} -> ./`, t.interval]);
    lines.push(...table(rows));
  }
  for (const [title, items] of [
    ["Mapped one to one", r.mapped],
    ["Tightened", r.tightened],
    ["Not mapped", r.unmapped],
  ] as const) {
    const s = section(title, items);
    if (s.length > 0) lines.push("", ...s);
  }
  lines.push(
    "",
    r.unmapped.length === 0
      ? "Everything was mapped."
      : `${r.unmapped.length} thing${r.unmapped.length === 1 ? " was" : "s were"} not mapped (exit 3): the repo was written without ${r.unmapped.length === 1 ? "it" : "them"}; see each line's reason.`,
  );
  return `${lines.join("\n")}\n`;
}
