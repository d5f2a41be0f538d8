// The team repo's `.sops.yaml`: sops' creation rules for the team's recipients. Manifests (YAML)
// have only data and stringData encrypted, so a review still sees which Secret changed; any
// other file (a generator's .env, .json, .ini input) is encrypted whole. The sops CLI and
// `tenantry secrets encrypt` read the same file.

export const SOPS_CONFIG = ".sops.yaml";

/** Pure: the text of .sops.yaml for `recipients` (oldest first). */
export function sopsConfigText(team: string, recipients: readonly string[]): string {
  const age = recipients.join(",");
  return [
    `# Written by \`tenantry secrets\` for team ${team}: files are encrypted for the team's age`,
    "# recipients (cluster/<team>/age.pub in the admin repo); only the cluster holds the identities.",
    "creation_rules:",
    "  - path_regex: \\.ya?ml$",
    "    encrypted_regex: ^(data|stringData)$",
    `    age: ${age}`,
    "  - age: " + age,
    "",
  ].join("\n");
}
