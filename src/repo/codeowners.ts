// CODEOWNERS keeps a block that tenantry maintains (one line per team); every line outside
// the block belongs to people and is left alone. Edits touch one team's line only, so the
// cost does not grow with the number of teams.
//
// A team's overlay (its quota, RBAC, network and policies) is owned by the platform team
// alone: on GitHub any one code owner named on a line may approve, so a team's own owners on
// that line could approve their own quota raise. `tenantry plan` names the team's owners in
// the review instead, so they are asked without their approval counting.

const BEGIN = "# BEGIN tenantry teams (maintained by create-team and delete-team)";
const END = "# END tenantry teams";

/**
 * CODEOWNERS with `team`'s line naming the platform team alone, or removed when the team is
 * deleted (`present` false) or there is no platform team. Lines in the block stay sorted.
 */
export function setTeamOwners(text: string, team: string, present: boolean, platformTeam: string | null): string {
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
  if (present && platformTeam !== null) kept.push(`${path} ${platformTeam}`);
  kept.sort((a, b) => a.localeCompare(b));
  return base.slice(0, start) + [BEGIN, ...kept, END].join("\n") + base.slice(end + END.length);
}
