// tenantry secrets: Secrets in Git, per team, with SOPS and an age key per team (docs/secrets.md).
// The identity lives only in Secret <team>-sops-age in the cluster; the recipients in the admin
// repo (cluster/<team>/age.pub) and the team repo's .sops.yaml. Subcommands: init, encrypt, rotate,
// reencrypt, retire, list.

import type { Argv, CommandModule } from "yargs";
import { formatTable, note, out } from "./output.js";

interface InitArgs {
  team: string;
  "admin-repo"?: string;
  kubeconfig?: string;
  "team-repo-dir"?: string;
  commit: boolean;
}

/** The options of the admin-side commands (init, rotate, retire): the team, the admin repo, the cluster, --commit. */
function adminOptions<T>(y: Argv<T>, kubeconfig: string): Argv<T & { team: string; "admin-repo"?: string; kubeconfig?: string; commit: boolean }> {
  return y
    .positional("team", { type: "string", demandOption: true })
    .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
    .option("kubeconfig", { type: "string", describe: kubeconfig })
    .option("commit", { type: "boolean", default: false, describe: "Commit the change in the admin repo" });
}

/** What an admin-side command changed in the admin repo, and its commit. */
function printAdminChange(admin: { readonly summary: readonly string[]; readonly commit: string | null }): void {
  const lines = admin.summary.map((l) => `  ${l}`);
  out(lines.length === 0 ? "The admin repo has it already." : `Changed the admin repo:\n${lines.join("\n")}`);
  if (admin.commit !== null) out(`Committed ${admin.commit.slice(0, 7)}.`);
}

const initCommand: CommandModule<object, InitArgs> = {
  command: "init <team>",
  describe: "Make the team's age key: identity into Secret <team>-sops-age, recipient into the admin repo and the team repo's .sops.yaml (idempotent)",
  builder: (y) => adminOptions(y, "Kubeconfig of the cluster holding the team's namespace (default: KUBECONFIG)").option("team-repo-dir", { type: "string", describe: "A checkout of the team's repo: its .sops.yaml is written there (else printed)" }),
  handler: async (a) => {
    const [{ secretsInit }, { findAdminRepo }, { templates }, { loadAccess }] = await Promise.all([import("../secrets/init.js"), import("../repo/admin-repo.js"), import("../repo/templates.js"), import("../cluster/access.js")]);
    const root = findAdminRepo(a["admin-repo"]);
    const r = await secretsInit({ templates, root, team: a.team, kc: loadAccess(a.kubeconfig), teamRepoDir: a["team-repo-dir"], commit: a.commit });
    out(`${r.created ? "Made" : "Kept"} the age identity of team ${a.team} in Secret ${r.secret} (it is never printed).`);
    out(`Recipient${r.recipients.length === 1 ? "" : "s"}: ${r.recipients.join(", ")}`);
    printAdminChange(r.admin);
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

const rotateCommand: CommandModule<object, { team: string; "admin-repo"?: string; kubeconfig?: string; commit: boolean }> = {
  command: "rotate <team>",
  describe: "Add a new age identity to Secret <team>-sops-age beside the old ones (every file still decrypts) and its recipient to the admin repo",
  builder: (y) => adminOptions(y, "Kubeconfig of the cluster holding the team's Secret (default: KUBECONFIG)"),
  handler: async (a) => {
    const [{ secretsRotate }, { findAdminRepo }, { templates }, { loadAccess }] = await Promise.all([import("../secrets/rotate.js"), import("../repo/admin-repo.js"), import("../repo/templates.js"), import("../cluster/access.js")]);
    const r = await secretsRotate({ templates, root: findAdminRepo(a["admin-repo"]), team: a.team, kc: loadAccess(a.kubeconfig), commit: a.commit });
    out(`Added a new age identity to Secret ${r.secret} (key ${r.key}); the old ones stay until retired.`);
    out(`New recipient: ${r.recipient}`);
    printAdminChange(r.admin);
    note(`Next: the team runs \`tenantry secrets reencrypt --team ${a.team} --recipient ${r.recipient}\` in its repo and pushes.`);
  },
};

const reencryptCommand: CommandModule<object, { team: string; recipient: string[]; dir?: string; kubeconfig?: string }> = {
  command: "reencrypt",
  describe: "In the team's repo: .sops.yaml for the given recipients, and every SOPS file decrypted with the team's identities and encrypted again (in the build service)",
  builder: (y) =>
    y
      .option("team", { type: "string", demandOption: true, describe: "The team whose Secret <team>-sops-age decrypts the files" })
      .option("recipient", { type: "string", array: true, demandOption: true, describe: "An age recipient to encrypt for (repeatable)" })
      .option("dir", { type: "string", describe: "The team repo (default: the one containing the current directory)" })
      .option("kubeconfig", { type: "string", describe: "The team's kubeconfig (it reads the team's Secret; default: KUBECONFIG)" }),
  handler: async (a) => {
    const [{ secretsReencrypt }, { loadAccess }] = await Promise.all([import("../secrets/reencrypt.js"), import("../cluster/access.js")]);
    const r = await secretsReencrypt({ dir: a.dir ?? process.cwd(), team: a.team, recipients: a.recipient, kc: loadAccess(a.kubeconfig) });
    out(`Re-encrypted ${String(r.files.length)} file${r.files.length === 1 ? "" : "s"} of ${r.repo} for ${r.recipients.join(", ")}:`);
    for (const f of r.files) out(`  ${f}`);
    note("Commit and push: once the team's GitSync applies it, the platform team can retire the old identity.");
  },
};

const retireCommand: CommandModule<object, { team: string; "admin-repo"?: string; kubeconfig?: string; commit: boolean }> = {
  command: "retire <team>",
  describe: "Remove the team's older age identities, once the revision its GitSync applied last builds with the newest alone",
  builder: (y) => adminOptions(y, "Kubeconfig of the cluster (reads the GitSync and its deploy key; default: KUBECONFIG)"),
  handler: async (a) => {
    const [{ secretsRetire }, { findAdminRepo }, { templates }, { loadAccess }] = await Promise.all([import("../secrets/retire.js"), import("../repo/admin-repo.js"), import("../repo/templates.js"), import("../cluster/access.js")]);
    const r = await secretsRetire({ templates, root: findAdminRepo(a["admin-repo"]), team: a.team, kc: loadAccess(a.kubeconfig), commit: a.commit });
    out(`${r.revision} builds with ${r.kept} alone: retired ${r.retired.join(", ")} from Secret ${r.secret}.`);
    out(`Recipient${r.recipients.length === 1 ? "" : "s"} now: ${r.recipients.join(", ")}`);
    printAdminChange(r.admin);
  },
};

const listCommand: CommandModule<object, { "admin-repo"?: string; "team-repo-dir"?: string }> = {
  command: "list",
  describe: "The teams' age recipients (admin repo), or with --team-repo-dir each SOPS file of a team repo and its recipients",
  builder: (y) =>
    y
      .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("team-repo-dir", { type: "string", describe: "A team repo: list its SOPS files instead" }),
  handler: async (a) => {
    const { fileRecipients, teamRecipients } = await import("../secrets/list.js");
    if (a["team-repo-dir"] !== undefined) {
      const files = await fileRecipients(a["team-repo-dir"]);
      out(files.length === 0 ? "No SOPS-encrypted files." : formatTable(["file", "recipients"], files.map((f) => ({ file: f.file, recipients: f.recipients.join(",") }))));
      return;
    }
    const { findAdminRepo } = await import("../repo/admin-repo.js");
    const teams = teamRecipients(findAdminRepo(a["admin-repo"]));
    out(formatTable(["team", "recipients"], teams.map((t) => ({ team: t.team, recipients: t.recipients.join(",") || "- (tenantry secrets init)" }))));
  },
};

export const secretsCommand: CommandModule = {
  command: "secrets <command>",
  describe: "Secrets in Git per team: SOPS with an age key per team, the identity only in the cluster",
  builder: (y) => y.command(initCommand).command(encryptCommand).command(rotateCommand).command(reencryptCommand).command(retireCommand).command(listCommand).demandCommand(1, "name a subcommand: init, encrypt, rotate, reencrypt, retire, list"),
  handler: () => undefined,
};
