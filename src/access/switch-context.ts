// `tenantry ctx`, the I/O edge: reads the user's kubeconfig, gets the team's token with the
// admin identity of that kubeconfig, and writes the edited file back atomically.

import { existsSync, readFileSync } from "node:fs";
import { contextNames, loadAccess } from "../cluster/access.js";
import { ExitCode, TenantryError } from "../errors.js";
import { hasEntry, parseKubeconfig, readCtxState, serializeKubeconfig, useContextBack, useTeamContext } from "./kubeconfig-contexts.js";
import { writePrivateFile } from "../files.js";
import { userKubeconfigPath } from "./kubeconfig-path.js";
import { clusterEntry, teamContextName } from "./team-kubeconfig.js";
import { teamCredentials } from "./token-request.js";

export interface CtxResult {
  readonly file: string;
  readonly context: string;
  readonly namespace?: string | undefined;
  readonly previous?: string | undefined;
  readonly expires?: string | undefined;
  /** The API server the context points at. */
  readonly server?: string | undefined;
  /** A controlplane team's ControlPlane: the context points at its own API server. */
  readonly controlPlane?: string | undefined;
}

function readFile(file: string): string {
  if (!existsSync(file)) return "";
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new TenantryError(`cannot read kubeconfig ${file}: ${(e as Error).message}`, ExitCode.failure);
  }
}

/**
 * The identity that asks for the team's token: the current context, unless that is a context
 * tenantry made (a team token cannot mint tokens), then the context tenantry left for it.
 */
function adminContext(current: string, own: readonly string[], previous: string | undefined): string {
  if (!own.includes(current)) return current;
  if (previous !== undefined && !own.includes(previous)) return previous;
  throw new TenantryError(`the current context ${current} is a team context made by tenantry ctx: switch to an admin context first (kubectl config use-context NAME)`, ExitCode.invalid);
}

export async function switchToTeam(team: string, seconds: number, kubeconfigFlag: string | undefined): Promise<CtxResult> {
  const file = userKubeconfigPath(kubeconfigFlag);
  const original = readFile(file);
  const doc = parseKubeconfig(original, file);
  const state = readCtxState(doc);
  const admin = loadAccess(kubeconfigFlag, adminContext(loadAccess(kubeconfigFlag).context, state.contexts, state.previous));
  const { access, token, target } = await teamCredentials(admin, team, seconds);
  const name = teamContextName(team);
  // A namespace team: the admin's cluster entry is reused when this file has it; otherwise the
  // team gets its own. A controlplane team: always its own entry tenantry-<team>, rewritten on
  // every switch (its API server's address and CA may have changed since).
  const reuse = target.isolation === "namespace" && hasEntry(doc, "clusters", access.name);
  const cluster = reuse ? { name: access.name } : { name, entry: clusterEntry(access) };
  const { previous } = useTeamContext(doc, { team, name, token: token.token, cluster });
  writePrivateFile(file, serializeKubeconfig(doc, original), { followSymlink: true });
  return { file, context: name, namespace: team, previous, expires: token.expirationTimestamp, server: access.server, ...(target.isolation === "controlplane" ? { controlPlane: target.controlPlane } : {}) };
}

export function switchBack(kubeconfigFlag: string | undefined): CtxResult {
  const file = userKubeconfigPath(kubeconfigFlag);
  const original = readFile(file);
  const doc = parseKubeconfig(original, file);
  const elsewhere = (name: string): boolean => {
    // With several files in $KUBECONFIG the context may live in another one.
    if (kubeconfigFlag !== undefined) return false;
    try {
      return contextNames().includes(name);
    } catch {
      return false;
    }
  };
  const { from, to } = useContextBack(doc, (n) => hasEntry(doc, "contexts", n) || elsewhere(n));
  writePrivateFile(file, serializeKubeconfig(doc, original), { followSymlink: true });
  return { file, context: to, previous: from, namespace: undefined };
}
