// CODEOWNERS keeps a block that tenantry maintains (one line per team that has owners);
// every line outside the block belongs to people and is left alone. Edits touch one
// team's line only, so the cost does not grow with the number of teams.

const BEGIN = "# BEGIN tenantry teams (maintained by create-team and delete-team)";
const END = "# END tenantry teams";

/**
 * CODEOWNERS with `team`'s line set to `owners` (the platform team first), or removed when
 * `owners` is null or there is nobody to name. Lines in the block stay sorted by path.
 */
export function setTeamOwners(text: string, team: string, owners: readonly string[] | null, platformTeam: string | null): string {
  let start = text.indexOf(BEGIN);
  let end = text.indexOf(END);
  let base = text;
  if (start === -1 || end === -1 || end < start) {
    base = `${text.trimEnd()}\n\n${BEGIN}\n${END}\n`;
    start = base.indexOf(BEGIN);
    end = base.indexOf(END);
  }
  const inner = base.slice(start + BEGIN.length, end).split("\n").filter((l) => l.trim() !== "");
  const path = `/cluster/${team}/`;
  const kept = inner.filter((l) => l.split(/\s+/)[0] !== path);
  const names = owners === null ? [] : [platformTeam, ...owners].filter((o): o is string => o !== null);
  if (names.length > 0) kept.push(`${path} ${[...new Set(names)].join(" ")}`);
  kept.sort((a, b) => a.localeCompare(b));
  return base.slice(0, start) + [BEGIN, ...kept, END].join("\n") + base.slice(end + END.length);
}
