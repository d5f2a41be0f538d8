// tenantry init <dir>: create the admin repo.

import type { CommandModule } from "yargs";
import { DEFAULT_SYNC_ENGINE, POLICY_ENGINES, type PolicyEngine, SYNC_ENGINES, type SyncEngine } from "../model/constants.js";
import { note, out } from "./output.js";

const DEFAULT_POLICY_ENGINE: PolicyEngine = "both";

interface Args {
  dir: string;
  "cluster-name": string;
  "git-url"?: string;
  "platform-team"?: string;
  "policy-engine": PolicyEngine;
  engine: SyncEngine;
}

export const initCommand: CommandModule<object, Args> = {
  command: "init <dir>",
  describe: "Create the admin repo (Kustomize, in Git) for a cluster",
  builder: (y) =>
    y
      .positional("dir", { type: "string", demandOption: true, describe: "Directory to create (absent or empty)" })
      .option("cluster-name", { type: "string", demandOption: true, describe: "The cluster's name (DNS-1123 label)" })
      .option("git-url", { type: "string", describe: "URL of this admin repo; team repos default to its siblings" })
      .option("platform-team", { type: "string", describe: "CODEOWNERS owner of cluster-wide files, e.g. @acme/platform" })
      .option("policy-engine", { choices: POLICY_ENGINES, default: DEFAULT_POLICY_ENGINE, describe: "How policies are enforced" })
      .option("engine", { choices: SYNC_ENGINES, default: DEFAULT_SYNC_ENGINE, describe: "What applies the repos: tenantry's agent, or Flux (ssh:// or https:// URLs only)" }),
  handler: async (args) => {
    const [{ init }, { templates }] = await Promise.all([import("../generate/init.js"), import("../repo/templates.js")]);
    const result = await init(templates, args.dir, {
      clusterName: args["cluster-name"],
      gitUrl: args["git-url"],
      platformTeam: args["platform-team"],
      policyEngine: args["policy-engine"],
      engine: args.engine,
    });
    if (result.kind === "created") {
      out(`Created admin repo ${result.dir} for cluster ${args["cluster-name"]}: ${result.files} files, commit ${result.commit.slice(0, 7)}.`);
      note(`Next: cd ${args.dir} && scripts/create-team.sh team1 --repo-url <team repo URL>`);
    } else if (result.restored.length === 0) {
      out(`${result.dir} is already a tenantry admin repo; nothing to do.`);
    } else {
      out(`${result.dir} is already a tenantry admin repo; restored missing files: ${result.restored.join(", ")}`);
    }
  },
};
