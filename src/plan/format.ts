// A plan for people and for machines: Markdown for a pull-request comment (a summary table
// first, every object's diff folded), plain text for a terminal, JSON with a fixed key order.

import { escapeControl, safeLines } from "../model/safe-text.js";
import type { ClusterCheck, ObjectChange, Plan } from "./plan.js";
import type { NetworkDelta, PairChange } from "../model/network.js";

export const PLAN_FORMATS = ["markdown", "json", "text"] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

/** GitHub refuses comments over 65,536 characters; diffs past this budget are left out. */
export const MARKDOWN_BUDGET = 60_000;
const MAX_TABLE_ROWS = 200;
const MAX_LISTED_TEAMS = 10;

function short(commit: string): string {
  return commit.slice(0, 7);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function teamList(teams: readonly string[], code: (s: string) => string = (s) => s): string {
  if (teams.length === 0) return "none";
  const shown = teams.slice(0, MAX_LISTED_TEAMS).map(code).join(", ");
  return teams.length > MAX_LISTED_TEAMS ? `${teams.length} teams: ${shown}, …` : shown;
}

function changeCounts(plan: Plan): string {
  const s = plan.summary;
  return `${s.added} added, ${s.changed} changed, ${s.removed} removed (${s.clusterWide} cluster-wide)`;
}

// Names and reasons come from the team's files: one escaped line each, so none can end a
// table, open a comment or hide the rows after it.
function cell(text: string): string {
  return escapeControl(text).replaceAll("|", "\\|");
}

function code(text: string): string {
  return `\`${escapeControl(text).replaceAll("`", "'").replaceAll("|", "\\|")}\``;
}

/** Inline code inside HTML (a <summary>), where Markdown backticks are not reliable. */
function html(text: string): string {
  return `<code>${escapeControl(text).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")}</code>`;
}

function value(v: unknown): string {
  return v === null || v === undefined ? "(absent)" : JSON.stringify(v);
}

/** A code fence longer than any run of backticks in `text`, so the text cannot close it. */
function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return "`".repeat(Math.max(3, longest + 1));
}

const ACTION_MARK: Readonly<Record<ObjectChange["action"], string>> = { added: "+", changed: "~", removed: "-" };

function whereOf(c: ObjectChange): string {
  return c.scope === "team" ? `team ${c.teams[0] ?? "?"}` : `cluster-wide, reaches ${teamList(c.teams)}`;
}

function clusterSummary(check: ClusterCheck): string {
  const c = check.counts;
  return `${plural(check.checked, "object")} checked: ${c.refused} refused, ${c.update} to update (live differs from head), ${c.create} to create, ${c.prune} to prune, ${c.unchecked} not checked`;
}

/** Unchecked results grouped by why: a new namespace holds many objects, all for one reason. */
function uncheckedGroups(check: ClusterCheck): string[] {
  const groups = new Map<string, number>();
  for (const r of check.results) if (r.outcome === "unchecked") groups.set(r.message ?? "", (groups.get(r.message ?? "") ?? 0) + 1);
  return [...groups].map(([why, n]) => `${plural(n, "object")} not checked: ${why}`);
}

function markdownCluster(check: ClusterCheck): string[] {
  const out = ["", "### Live cluster: server-side dry run of head", "", `${clusterSummary(check)}.`];
  const unchecked = uncheckedGroups(check);
  if (unchecked.length > 0) out.push("", ...unchecked.map((u) => `- ${u}`));
  const rows = check.results.filter((r) => r.outcome === "refused" || r.outcome === "update" || r.outcome === "prune");
  if (rows.length === 0) return out;
  out.push("", "| Object | Result | Detail |", "|:--|:--|:--|");
  const lines: string[] = [];
  for (const r of rows) {
    const detail = r.drift.length > 0 ? r.drift.map((d) => `${code(d.path)}: live ${code(value(d.live))} → head ${code(value(d.head))}`).join("<br>") : (r.message ?? "");
    lines.push(`| ${code(r.object)} | ${r.outcome} | ${cell(detail)} |`);
  }
  out.push(...lines.slice(0, MAX_TABLE_ROWS));
  if (lines.length > MAX_TABLE_ROWS) out.push(`| … | ${lines.length - MAX_TABLE_ROWS} more | see \`tenantry plan -o json\` |`);
  return out;
}

function pairChangeText(c: PairChange): string {
  const parts: string[] = [];
  if (c.ingress.length > 0) parts.push(`ingress ${c.ingress.join(", ")}`);
  if (c.egress.length > 0) parts.push(`egress ${c.egress.join(", ")}`);
  return parts.join("; ");
}

/** `name` shows a namespace (a team wrote it: code in Markdown, escaped in text). */
function networkSummary(n: NetworkDelta, name: (s: string) => string): string {
  return `judged by ${escapeControl(n.engine)} for ${plural(n.namespaces.length, "namespace")} whose policies or labels changed (${teamList(n.namespaces, name)}): ${plural(n.opened.length, "pair")} opened, ${plural(n.closed.length, "pair")} closed`;
}

function networkLines(n: NetworkDelta): string[] {
  return [
    ...n.opened.map((c) => `+ ${c.from} → ${c.to}: ${pairChangeText(c)}`),
    ...n.closed.map((c) => `- ${c.from} → ${c.to}: ${pairChangeText(c)}`),
  ];
}

function markdownNetwork(n: NetworkDelta): string[] {
  const out = ["", "### Network: who reaches whom", "", `${networkSummary(n, code)}.`];
  const lines = networkLines(n);
  if (lines.length === 0) return out;
  out.push("", "| | From → to | Ports |", "|:--|:--|:--|");
  const rows = [...n.opened.map((c) => ["opened", c] as const), ...n.closed.map((c) => ["closed", c] as const)].map(
    ([what, c]) => `| ${what} | ${code(`${c.from} → ${c.to}`)} | ${cell(pairChangeText(c))} |`,
  );
  out.push(...rows.slice(0, MAX_TABLE_ROWS));
  if (rows.length > MAX_TABLE_ROWS) out.push(`| … | ${rows.length - MAX_TABLE_ROWS} more | see \`tenantry plan -o json\` |`);
  return out;
}

/** Markdown for a pull-request comment. */
export function formatMarkdown(plan: Plan): string {
  const s = plan.summary;
  const out: string[] = [
    "## tenantry plan",
    "",
    `${code(plan.base.ref)} (${code(short(plan.base.commit))}) → ${code(plan.head.ref)} (${code(short(plan.head.commit))})`,
    "",
    "| | |",
    "|:--|:--|",
    `| **Changes** | ${changeCounts(plan)} |`,
    `| **Teams affected** | ${teamList(s.teamsAffected, code)} |`,
    `| **Risk flags** | ${plan.risks.length === 0 ? "none" : `⚠️ ${plan.risks.length}: ${plan.risks.map((r) => r.title).join(", ")}`} |`,
  ];
  if (plan.cluster !== null) out.push(`| **Live cluster** | ${clusterSummary(plan.cluster)} |`);
  if (plan.network !== null) out.push(`| **Network** | ${networkSummary(plan.network, code)} |`);
  if (plan.owners.length > 0) {
    out.push("", "### Team owners asked to look", "", "Only the platform team's approval counts for a team's overlay (CODEOWNERS); its owners are asked here, not there.", "");
    // Plain, so the Git host notifies them: an owner that is not @org/team, @user or an
    // e-mail address never gets here (team-facts drops a team.yaml that fails its checks).
    out.push(...plan.owners.map((o) => `- ${code(o.team)}: ${o.owners.map(escapeControl).join(" ")}`));
  }
  if (plan.risks.length > 0) {
    out.push("", "### Risk flags", "", "| Risk | Object | Why |", "|:--|:--|:--|");
    const rows = plan.risks.flatMap((r) => r.objects.map((o) => `| ${r.title} | ${code(o.object)} | ${cell(o.reasons.join("; "))} |`));
    out.push(...rows.slice(0, MAX_TABLE_ROWS));
    if (rows.length > MAX_TABLE_ROWS) out.push(`| … | ${rows.length - MAX_TABLE_ROWS} more | see \`tenantry plan -o json\` |`);
  }
  if (plan.cluster !== null) out.push(...markdownCluster(plan.cluster));
  if (plan.network !== null) out.push(...markdownNetwork(plan.network));
  if (plan.changes.length === 0) {
    out.push("", "No changes.");
    return `${out.join("\n")}\n`;
  }
  out.push("", "### Changes", "");
  let size = out.join("\n").length;
  const left: ObjectChange[] = [];
  for (const c of plan.changes) {
    const file = c.file === null ? "" : ` · ${html(c.file)}`;
    const block = [
      "<details>",
      `<summary>${ACTION_MARK[c.action]} <b>${c.action}</b> ${html(c.object)} · ${whereOf(c)}${file}</summary>`,
      "",
      `${fenceFor(c.diff)}diff`,
      c.diff.trimEnd(),
      fenceFor(c.diff),
      "",
      "</details>",
    ].join("\n");
    if (left.length > 0 || size + block.length > MARKDOWN_BUDGET) {
      left.push(c);
      continue;
    }
    out.push(block);
    size += block.length + 1;
  }
  if (left.length > 0) {
    out.push("", `${plural(left.length, "more change")} without diffs (a pull-request comment has room for no more; \`tenantry plan\` shows them all):`, "");
    out.push(...left.slice(0, MAX_TABLE_ROWS).map((c) => `- ${ACTION_MARK[c.action]} ${code(c.object)} · ${whereOf(c)}`));
    if (left.length > MAX_TABLE_ROWS) out.push(`- … and ${left.length - MAX_TABLE_ROWS} more`);
  }
  return `${out.join("\n")}\n`;
}

/** Plain text for a terminal: summary, risk flags, every change, diffs of changed objects. */
export function formatText(plan: Plan): string {
  const s = plan.summary;
  const out = [
    `Plan ${plan.base.ref} (${short(plan.base.commit)}) -> ${plan.head.ref} (${short(plan.head.commit)})`,
    `Changes: ${changeCounts(plan)}`,
    `Teams affected: ${teamList(s.teamsAffected)}`,
    `Risk flags: ${plan.risks.length === 0 ? "none" : plan.risks.length}`,
    ...plan.owners.map((o) => `Owners of ${o.team} to ask (their approval does not count): ${o.owners.map(escapeControl).join(" ")}`),
  ];
  for (const r of plan.risks) {
    out.push(`  ${r.title}`);
    // Each field escaped on its own: a line break a team wrote must not start a line of ours.
    for (const o of r.objects) out.push(`    ${escapeControl(o.object)}: ${o.reasons.map(escapeControl).join("; ")}`);
  }
  if (plan.cluster !== null) {
    out.push(`Live cluster: ${clusterSummary(plan.cluster)}`);
    for (const u of uncheckedGroups(plan.cluster)) out.push(`  ${u}`);
    for (const r of plan.cluster.results) {
      if (r.outcome === "create" || r.outcome === "unchecked") continue;
      out.push(`  ${r.outcome} ${escapeControl(r.object)}${r.message === null ? "" : `: ${escapeControl(r.message)}`}`);
      for (const d of r.drift) out.push(`    ${d.path}: live ${value(d.live)} -> head ${value(d.head)}`);
    }
  }
  if (plan.network !== null) {
    out.push(`Network: ${networkSummary(plan.network, escapeControl)}`);
    out.push(...networkLines(plan.network).map((l) => `  ${escapeControl(l)}`));
  }
  if (plan.changes.length === 0) {
    out.push("No changes.");
    return `${safeLines(out.join("\n"))}\n`;
  }
  out.push("Changes:");
  for (const c of plan.changes) {
    out.push(`  ${ACTION_MARK[c.action]} ${escapeControl(c.object)}  (${escapeControl(whereOf(c))})`);
    if (c.action === "changed") out.push(...c.diff.trimEnd().split("\n").map((l) => `      ${l}`));
  }
  return `${safeLines(out.join("\n"))}\n`;
}

export function formatJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

export function formatPlan(plan: Plan, format: PlanFormat): string {
  return format === "markdown" ? formatMarkdown(plan) : format === "json" ? formatJson(plan) : formatText(plan);
}
