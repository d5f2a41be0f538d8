// tenantry secrets: Secrets in Git, per team, with SOPS and an age key per team (docs/secrets.md).
// The identity lives only in Secret <team>-sops-age in the cluster; the recipients in the admin
// repo (cluster/<team>/age.pub) and the team repo's .sops.yaml. Subcommands: init, encrypt.

import type { CommandModule } from "yargs";
import { note, out } from "./output.js";

interface InitArgs {
  team: string;
  "admin-repo"?: string;
  kubeconfig?: string;
  "team-repo-dir"?: string;
  commit: boolean;
}

const initCommand: CommandModule<object, InitArgs> = {
  command: "init <team>",
  describe: "Make the team's age key: identity into Secret <team>-sops-age, recipient into the admin repo and the team repo's .sops.yaml (idempotent)",
  builder: (y) =>
    y
      .positional("team", { type: "string", demandOption: true })
      .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig of the cluster holding the team's namespace (default: KUBECONFIG)" })
      .option("team-repo-dir", { type: "string", describe: "A checkout of the team's repo: its .sops.yaml is written there (else printed)" })
      .option("commit", { type: "boolean", default: false, describe: "Commit the change in the admin repo" }),
  handler: async (a) => {
    const [{ secretsInit }, { findAdminRepo }, { templates }, { loadAccess }] = await Promise.all([import("../secrets/init.js"), import("../repo/admin-repo.js"), import("../repo/templates.js"), import("../cluster/access.js")]);
    const root = findAdminRepo(a["admin-repo"]);
    const r = await secretsInit({ templates, root, team: a.team, kc: loadAccess(a.kubeconfig), teamRepoDir: a["team-repo-dir"], commit: a.commit });
    out(`${r.created ? "Made" : "Kept"} the age identity of team ${a.team} in Secret ${r.secret} (it is never printed).`);
    out(`Recipient${r.recipients.length === 1 ? "" : "s"}: ${r.recipients.join(", ")}`);
    const lines = r.admin.summary.map((l) => `  ${l}`);
    out(lines.length === 0 ? "The admin repo has it already." : `Changed the admin repo:\n${lines.join("\n")}`);
    if (r.admin.commit !== null) out(`Committed ${r.admin.commit.slice(0, 7)}.`);
    if (r.sopsConfigWritten !== null) out(`Wrote ${r.sopsConfigWritten}.`);
    else {
      note(`The team repo's .sops.yaml (pass --team-repo-dir to write it):`);
      out(r.sopsConfig.trimEnd());
    }
    note(`Next: push the admin repo (its sync gives the team's GitSync spec.decryption); the team encrypts with \`sops encrypt\` (or tenantry secrets encrypt) and pushes.`);
  },
};

const encryptCommand: CommandModule<object, { files: string[] }> = {
  command: "encrypt <files..>",
  describe: "Encrypt files in place for the recipients of the team repo's .sops.yaml (sops' format: the sops CLI reads and writes them too)",
  builder: (y) => y.positional("files", { type: "string", array: true, demandOption: true }),
  handler: async (a) => {
    const { encryptFiles } = await import("../secrets/encrypt.js");
    for (const r of await encryptFiles(a.files)) out(`Encrypted ${r.file} (rules of ${r.config}).`);
  },
};

export const secretsCommand: CommandModule = {
  command: "secrets <command>",
  describe: "Secrets in Git per team: SOPS with an age key per team, the identity only in the cluster",
  builder: (y) => y.command(initCommand).command(encryptCommand).demandCommand(1, "name a subcommand: init, encrypt"),
  handler: () => undefined,
};
