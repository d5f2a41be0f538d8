// Names the tenant views share: the team label and the kubeconfig names of a team.

export const TEAM_LABEL = "tenantry.dev/team";

/** The context (and user) name tenantry gives a team in a kubeconfig. */
export function teamContextName(team: string): string {
  return `tenantry-${team}`;
}
