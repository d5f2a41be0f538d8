// tenantry keys: deploy keys of the team repos and the admin repo. The private half lives
// only in the cluster (Secret <team>-deploy-key); the public half in the admin repo and on
// the Git host. Subcommands: create, known-hosts, register, rotate, revoke, list.

import type { Argv, CommandModule } from "yargs";
import { ExitCode, TenantryError } from "../errors.js";
import { formatData, formatTable, note, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";

const DEFAULT_FORMAT: OutputFormat = "table";
export const HOSTS = ["github", "gitlab", "gitea", "ssh"] as const;
export type Host = (typeof HOSTS)[number];

interface TargetArgs {
  team?: string;
  admin: boolean;
  "admin-repo"?: string;
  kubeconfig?: string;
}

export interface HostArgs {
  host?: Host;
  repo?: string;
  "api-url"?: string;
  "authorized-keys"?: string;
}

function targetOptions<T>(y: Argv<T>): Argv<T & TargetArgs> {
  return y
    .positional("team", { type: "string", describe: "The team (or --admin for the admin repo)" })
    .option("admin", { type: "boolean", default: false, describe: "The admin repo's key (Secret admin-deploy-key in tenantry-system)" })
    .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
    .option("kubeconfig", { type: "string", describe: "Kubeconfig of the cluster holding the Secret (default: KUBECONFIG)" })
    .check((a) => {
      if ((a.team === undefined) === !a.admin) throw new TenantryError("name a team, or pass --admin for the admin repo's key (not both)", ExitCode.invalid);
      return true;
    });
}

/** --host, --repo, --api-url, --authorized-keys: where a deploy key is registered (keys register/rotate/revoke, delete-team). */
export function hostOptions<T>(y: Argv<T>, required: boolean): Argv<T & HostArgs> {
  return y
    .option("host", { choices: HOSTS, demandOption: required, describe: "Where the repo lives; tokens come from GITHUB_TOKEN, GITLAB_TOKEN, GITEA_TOKEN" })
    .option("repo", { type: "string", describe: "owner/name on the forge, or the repo's path on an ssh server (default: from the repo URL)" })
    .option("api-url", { type: "string", describe: "The host's API (GitHub: https://api.github.com, GitLab: https://gitlab.com/api/v4; Gitea: required)" })
    .option("authorized-keys", { type: "string", describe: "--host ssh: the git user's authorized_keys file" });
}

export function hostSpec(a: HostArgs): { kind: Host; repo: string | undefined; apiUrl: string | undefined; authorizedKeys: string | undefined } | undefined {
  return a.host === undefined ? undefined : { kind: a.host, repo: a.repo, apiUrl: a["api-url"], authorizedKeys: a["authorized-keys"] };
}

const who = (a: TargetArgs): string => a.team ?? "--admin";

async function target(a: TargetArgs) {
  const { repoTarget } = await import("../keys/target.js");
  return repoTarget(a.admin ? null : (a.team ?? null), a["admin-repo"]);
}

async function kubeconfig(a: TargetArgs) {
  const { loadAccess } = await import("../cluster/access.js");
  return loadAccess(a.kubeconfig);
}

const createCommand: CommandModule<object, TargetArgs & { out?: string; "show-private": boolean; force: boolean; commit: boolean }> = {
  command: "create [team]",
  describe: "Make an ed25519 deploy key: private half into the cluster's Secret, public half into the admin repo",
  builder: (y) =>
    targetOptions(y)
      .option("out", { type: "string", describe: "Write the private key to this new 0600 file instead of the cluster (bootstrap); never inside a repo" })
      .option("show-private", { type: "boolean", default: false, describe: "Also print the private key (it is never printed otherwise)" })
      .option("force", { type: "boolean", default: false, describe: "Replace an existing key at once (tenantry keys rotate does it without downtime)" })
      .option("commit", { type: "boolean", default: false, describe: "Commit the public key in the admin repo" }),
  handler: async (a) => {
    const { createKey } = await import("../keys/create.js");
    const t = await target(a);
    const r = await createKey({ target: t, into: a.out === undefined ? { kc: await kubeconfig(a) } : { out: a.out }, force: a.force, commit: a.commit });
    out(`Created deploy key ${r.fingerprint} for ${t.label}`);
    out(`  private key: ${r.storedIn}`);
    out(`  public key:  ${r.pubPath}`);
    if (r.commit !== null) out(`Committed ${r.commit.slice(0, 7)}.`);
    if (r.replaced !== null) note(`It replaces ${r.replaced}: remove that key from the Git host if it was registered (tenantry keys rotate does this by itself).`);
    note(`Next: tenantry keys known-hosts <git host> ${a.admin ? "--admin" : `--team ${t.label}`}; tenantry keys register ${who(a)} --host github|gitlab|gitea|ssh`);
    if (a["show-private"]) out(r.privateKey);
  },
};

const knownHostsCommand: CommandModule<object, { host: string; port: number; from?: string; team?: string; admin: boolean; force: boolean; kubeconfig?: string }> = {
  command: "known-hosts <host>",
  describe: "Pin a Git host's SSH host keys into the deploy-key Secret's known_hosts (scanned, or --from a file)",
  builder: (y) =>
    y
      .positional("host", { type: "string", demandOption: true, describe: "The Git host's name or address, as in the repo URL" })
      .option("port", { type: "number", default: 22, describe: "Its SSH port" })
      .option("from", { type: "string", describe: "Take the keys from this known_hosts file instead of ssh-keyscan" })
      .option("team", { type: "string", describe: "Pin into this team's Secret" })
      .option("admin", { type: "boolean", default: false, describe: "Pin into the admin repo's Secret" })
      .option("force", { type: "boolean", default: false, describe: "Replace pinned keys that differ (a changed host key)" })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig of the cluster holding the Secret (default: KUBECONFIG)" })
      .check((a) => {
        if (a.team !== undefined && a.admin) throw new TenantryError("--team and --admin exclude each other", ExitCode.invalid);
        return true;
      }),
  handler: async (a) => {
    const [{ pinHostKeys }, { keyTarget }] = await Promise.all([import("../keys/pin.js"), import("../keys/target.js")]);
    const into = a.team === undefined && !a.admin ? null : { kc: await kubeconfig({ admin: a.admin, ...(a.kubeconfig === undefined ? {} : { kubeconfig: a.kubeconfig }) }), target: keyTarget(a.admin ? null : (a.team ?? null)) };
    const r = await pinHostKeys({ host: a.host, port: a.port, from: a.from, force: a.force, into });
    if (r.secret === null) {
      note(`Host keys of ${r.pattern} (pass --team T or --admin to pin them into a Secret):`);
      for (const k of r.pinned) out(`${r.pattern} ${k.key}`);
      return;
    }
    out(`Pinned ${r.pinned.length} host key${r.pinned.length === 1 ? "" : "s"} of ${r.pattern} in Secret ${r.secret}:`);
    for (const k of r.pinned) out(`  ${k.type} ${k.fingerprint}`);
    for (const k of r.dropped) out(`  replaced ${k.type} ${k.fingerprint}`);
    if (a.from === undefined) note("Scanned over the network: compare these fingerprints with the ones the host's operator publishes.");
  },
};

const registerCommand: CommandModule<object, TargetArgs & HostArgs & { cluster: boolean }> = {
  command: "register [team]",
  describe: "Add the deploy key read-only to the Git host (idempotent), titled tenantry:<cluster>:<team>",
  builder: (y) =>
    hostOptions(targetOptions(y), true).option("cluster", {
      type: "boolean",
      default: true,
      describe: "Read the key from the cluster's Secret and record the registration there (--no-cluster: only the admin repo's .pub)",
    }),
  handler: async (a) => {
    const { registerKey } = await import("../keys/register.js");
    const t = await target(a);
    let kc = null;
    if (a.cluster) {
      try {
        kc = await kubeconfig(a);
      } catch (e) {
        if (a.kubeconfig !== undefined) throw e;
        note("No kubeconfig: registering the admin repo's public key; the Secret will not record where it is registered.");
      }
    }
    const spec = hostSpec(a);
    if (spec === undefined) throw new TenantryError("--host is required: github, gitlab, gitea or ssh", ExitCode.invalid);
    const r = await registerKey({ target: t, spec, kc });
    out(`${r.added ? "Registered" : "Already registered:"} ${r.fingerprint} on ${r.where} (read-only)`);
    if (!r.recorded && kc !== null) note(`Secret ${t.namespace}/${t.secretName} holds no key: the registration was not recorded there.`);
  },
};

const rotateCommand: CommandModule<object, TargetArgs & HostArgs & { timeout: string; "sync-now": boolean; commit: boolean }> = {
  command: "rotate [team]",
  describe: "Replace the deploy key without downtime: register the new key, switch the Secret, wait for a fetch with it, remove the old",
  builder: (y) =>
    hostOptions(targetOptions(y), false)
      .option("timeout", { type: "string", default: "5m", describe: "How long to wait for the reconciler to fetch with the new key" })
      .option("sync-now", { type: "boolean", default: false, describe: "Run one reconcile of the GitSync now instead of waiting for the agent" })
      .option("commit", { type: "boolean", default: false, describe: "Commit the new public key in the admin repo" }),
  handler: async (a) => {
    const [{ rotateKey }, { parseDuration }] = await Promise.all([import("../keys/rotate.js"), import("../model/gitsync.js")]);
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(a.timeout);
    } catch (e) {
      throw new TenantryError(`--timeout: ${(e as Error).message}`, ExitCode.invalid);
    }
    const t = await target(a);
    const r = await rotateKey({ target: t, kc: await kubeconfig(a), spec: hostSpec(a), timeoutMs, syncNow: a["sync-now"], commit: a.commit, progress: note });
    out(`Rotated the deploy key of ${t.label}: ${r.previous} -> ${r.fingerprint} on ${r.where}${r.resumed ? " (resumed)" : ""}; removed ${r.removed} old key${r.removed === 1 ? "" : "s"} from the host`);
    if (r.commit !== null) out(`Committed ${r.commit.slice(0, 7)}.`);
  },
};

const revokeCommand: CommandModule<object, TargetArgs & HostArgs> = {
  command: "revoke [team]",
  describe: "Remove the deploy key from the Git host and from the Secret (known_hosts stays) and the admin repo",
  builder: (y) => hostOptions(targetOptions(y), false),
  handler: async (a) => {
    const [{ revokeDeployKey }, { keyTarget }, { findAdminRepo, readTeamSpec, readClusterConfig }] = await Promise.all([
      import("../keys/revoke.js"),
      import("../keys/target.js"),
      import("../repo/admin-repo.js"),
    ]);
    // The admin repo is optional here: a team already deleted from it can still be revoked.
    let root: string | undefined;
    try {
      root = findAdminRepo(a["admin-repo"]);
    } catch (e) {
      if (a["admin-repo"] !== undefined) throw e;
    }
    const t = keyTarget(a.admin ? null : (a.team ?? null));
    const repoUrl = root === undefined ? null : t.team === null ? readClusterConfig(root).gitUrl : (readTeamSpec(root, t.team)?.repoUrl ?? null);
    const r = await revokeDeployKey({ kc: await kubeconfig(a), target: t, spec: hostSpec(a), repoUrl, adminRoot: root });
    out(`Revoked the deploy key of ${t.label} (${r.fingerprints.join(", ")}):`);
    out(`  host:   ${r.where === null ? "not registered anywhere tenantry recorded (pass --host to remove it from one)" : `removed ${r.removedFromHost} from ${r.where}`}`);
    out(`  Secret: ${t.namespace}/${t.secretName} ${r.secret === "cleared" ? "cleared (known_hosts kept)" : r.secret}`);
    if (r.pubRemoved) out(`  admin repo: removed ${t.pubPath}`);
  },
};

const listCommand: CommandModule<object, { output: OutputFormat; kubeconfig?: string; "admin-repo"?: string }> = {
  command: "list",
  describe: "Deploy keys: team, fingerprint, created, where registered, last successful fetch",
  builder: (y) =>
    y
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig of the cluster (default: KUBECONFIG)" })
      .option("admin-repo", { type: "string", describe: "Also list the admin repo's teams without a key (default: the one around the current directory, if any)" }),
  handler: async (a) => {
    const [{ listKeys, lastFetchCell }, { findAdminRepo, listTeams }] = await Promise.all([import("../keys/list-keys.js"), import("../repo/admin-repo.js")]);
    let teams: string[] = [];
    try {
      teams = ["admin", ...listTeams(findAdminRepo(a["admin-repo"])).map((t) => t.name)];
    } catch (e) {
      if (a["admin-repo"] !== undefined) throw e;
    }
    const rows = await listKeys(await kubeconfig({ admin: false, ...(a.kubeconfig === undefined ? {} : { kubeconfig: a.kubeconfig }) }), teams);
    if (a.output !== "table") {
      out(formatData(a.output, rows));
      return;
    }
    if (rows.length === 0) {
      out("No deploy keys yet: tenantry keys create <team> makes one.");
      return;
    }
    out(
      formatTable(
        ["team", "fingerprint", "created", "registered", "last-fetch"],
        rows.map((r) => ({
          team: r.team,
          fingerprint: r.fingerprint === null ? "-" : r.rotatingFrom === null ? r.fingerprint : `${r.fingerprint} (rotating)`,
          created: r.created ?? "-",
          registered: r.registered ?? "-",
          "last-fetch": lastFetchCell(r),
        })),
      ),
    );
  },
};

export const keysCommand: CommandModule = {
  command: "keys <command>",
  describe: "Deploy keys: create, known-hosts, register, rotate, revoke, list",
  builder: (y) =>
    y
      .command(createCommand)
      .command(knownHostsCommand)
      .command(registerCommand)
      .command(rotateCommand)
      .command(revokeCommand)
      .command(listCommand)
      .demandCommand(1, "Name a keys command: tenantry keys --help lists them."),
  handler: () => undefined,
};
