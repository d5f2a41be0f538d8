// tenantry plan --base REF --head REF: what a change to the admin repo does, for which
// teams, and what gets weaker. Exit 0: no risk flags; 3: risk flags (docs/plan.md).

import type { CommandModule } from "yargs";
import { ExitCode } from "../errors.js";
import { setExitCode } from "./exit.js";
import { out } from "./output.js";

// As in plan/format.ts, which is loaded only when the command runs.
const PLAN_FORMATS = ["markdown", "json", "text"] as const;
type PlanFormat = (typeof PLAN_FORMATS)[number];
const DEFAULT_FORMAT: PlanFormat = "text";

interface Args {
  base: string;
  head: string;
  repo?: string;
  output: PlanFormat;
  cluster: boolean;
  kubeconfig?: string;
}

export const planCommand: CommandModule<object, Args> = {
  command: "plan",
  describe: "Compare two refs of the admin repo: changes per object and team, risk flags (exit 3 when any)",
  builder: (y) =>
    y
      .option("base", { type: "string", demandOption: true, describe: "The ref the change starts from, e.g. origin/main" })
      .option("head", { type: "string", default: "HEAD", describe: "The ref of the change" })
      .option("repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("output", { alias: "o", choices: PLAN_FORMATS, default: DEFAULT_FORMAT, describe: "markdown for a PR comment, json for machines, text for a terminal" })
      .option("cluster", { type: "boolean", default: false, describe: "Also dry-run head against the live cluster: refusals and drift" })
      .option("kubeconfig", { type: "string", describe: "With --cluster: the admin kubeconfig (default: KUBECONFIG, ~/.kube/config)" }),
  handler: async (args) => {
    const [{ findAdminRepo }, { runPlan }, { formatPlan }] = await Promise.all([
      import("../repo/admin-repo.js"),
      import("../review/run-plan.js"),
      import("../plan/format.js"),
    ]);
    const plan = await runPlan({ root: findAdminRepo(args.repo), base: args.base, head: args.head, cluster: args.cluster, kubeconfig: args.kubeconfig });
    out(formatPlan(plan, args.output));
    setExitCode(plan.risks.length > 0 ? ExitCode.risk : ExitCode.ok);
  },
};
