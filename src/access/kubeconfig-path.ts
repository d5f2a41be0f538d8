// Which kubeconfig file a person's `tenantry ctx` edits.

import { homedir } from "node:os";
import { delimiter, join } from "node:path";

/** The kubeconfig `tenantry ctx` edits: --kubeconfig, else the first of $KUBECONFIG, else ~/.kube/config. */
export function userKubeconfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) return flag;
  const first = (env.KUBECONFIG ?? "").split(delimiter).find((f) => f !== "");
  return first ?? join(homedir(), ".kube", "config");
}
