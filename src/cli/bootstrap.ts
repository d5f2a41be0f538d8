// tenantry bootstrap: from an admin repo checkout to a cluster that syncs it, in one
// idempotent command (the deploy key, cluster/common, the wait for the admin sync), then
// `tenantry status`. The steps are src/bootstrap/bootstrap.ts.

import type { CommandModule } from "yargs";
import { ExitCode, TenantryError } from "../errors.js";
import { type HostArgs, hostOptions, hostSpec } from "./keys.js";
import { formatTable, note, out } from "./output.js";
import { safeLine } from "../model/safe-text.js";

interface Args extends HostArgs {
  kubeconfig?: string;
  context?: string;
  "admin-repo"?: string;
  "token-env"?: string;
  "known-hosts"?: string;
  timeout: string;
  commit: boolean;
}

const TOKEN_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The environment the host adapter reads, with --token-env's variable as the host's token. */
export function tokenEnvironment(args: Pick<Args, "host" | "token-env">, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const name = args["token-env"];
  if (name === undefined) return env;
  if (args.host === undefined || args.host === "ssh") throw new TenantryError(`--token-env names the token of a forge: use it with --host github, gitlab or gitea`, ExitCode.invalid);
  if (!TOKEN_VAR.test(name)) throw new TenantryError(`--token-env ${name} is not an environment variable name: give e.g. ADMIN_REPO_TOKEN`, ExitCode.invalid);
  const token = env[name];
  if (token === undefined || token === "") throw new TenantryError(`--token-env ${name}: ${name} is not set: export the ${args.host} token in it (it is read from there only, never printed)`, ExitCode.invalid);
  const tokenVar = { github: "GITHUB_TOKEN", gitlab: "GITLAB_TOKEN", gitea: "GITEA_TOKEN" }[args.host];
  return { ...env, [tokenVar]: token };
}

export const bootstrapCommand: CommandModule<object, Args> = {
  command: "bootstrap",
  describe: "Set up a cluster from this admin repo: deploy key (Secret, host, known_hosts), cluster/common, wait for the admin sync, status",
  builder: (y) =>
    hostOptions(y, false)
      .option("kubeconfig", { type: "string", describe: "Kubeconfig of the cluster (default: KUBECONFIG, ~/.kube/config)" })
      .option("context", { type: "string", describe: "The kubeconfig context (default: its current-context)" })
      .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("token-env", { type: "string", describe: "The environment variable holding the forge's token (default: GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN)" })
      .option("known-hosts", { type: "string", describe: "Pin the Git host's keys from this known_hosts file instead of ssh-keyscan" })
      .option("timeout", { type: "string", default: "5m", describe: "How long to wait for the admin sync to be Ready" })
      .option("commit", { type: "boolean", default: false, describe: "Commit a new cluster/common/deploy-key.pub in the admin repo" }),
  handler: async (a) => {
    const [{ parseDuration }, { findAdminRepo }, { loadAccess }, { bootstrap }] = await Promise.all([
      import("../model/gitsync.js"),
      import("../repo/admin-repo.js"),
      import("../cluster/access.js"),
      import("../bootstrap/bootstrap.js"),
    ]);
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(a.timeout);
    } catch (e) {
      throw new TenantryError(`--timeout: ${(e as Error).message}`, ExitCode.invalid);
    }
    const env = tokenEnvironment(a, process.env);
    const root = findAdminRepo(a["admin-repo"]);
    const kc = loadAccess(a.kubeconfig, a.context);
    const r = await bootstrap({ kc, root, host: hostSpec(a), env, knownHostsFile: a["known-hosts"], timeoutMs, commit: a.commit, progress: out });
    out(r.writes === 0 ? "Bootstrapped: nothing to change." : `Bootstrapped (engine ${r.engine}).`);
    out("");
    const [{ gatherEnforcement, gatherStatus }, { ListMemo }, { STATUS_COLUMNS, statusCells }, { enforcementLines }] = await Promise.all([
      import("../views/gather.js"),
      import("../cluster/list-memo.js"),
      import("../views/status.js"),
      import("../views/enforcement.js"),
    ]);
    const lists = new ListMemo();
    const [rows, enforcement] = await Promise.all([gatherStatus(kc, { lists }), gatherEnforcement(kc, lists)]);
    const none = r.engine === "flux" ? "No Flux Kustomizations or GitRepositories in the cluster." : "No GitSyncs in the cluster.";
    out(rows.length === 0 ? none : formatTable(STATUS_COLUMNS, rows.map(statusCells)));
    for (const line of enforcementLines(enforcement)) out(safeLine(line));
    for (const n of r.notes) note(n);
  },
};
