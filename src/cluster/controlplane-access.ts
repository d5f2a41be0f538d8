// Where a team lives, for the commands a person runs (status, resources, usage, kubeconfig,
// ctx): a namespace team in namespace <team> of the host; a controlplane team (KubeFlex,
// docs/isolation.md) in namespace <team> of its own API server. A team is a controlplane team
// when ControlPlane <team> exists on the host; its API server is reached with the admin
// kubeconfig KubeFlex writes into a Secret (the ControlPlane's status.secretRef, else
// <team>-system/admin-kubeconfig), key `kubeconfig`, the external address (never the
// in-cluster key: that address only works inside the host cluster).
//
// That kubeconfig is a cluster-admin credential: it is parsed in memory and never written to
// disk, and it may carry only embedded data (no file paths, no exec plugins, no auth
// providers: a Secret's kubeconfig that runs a program on the reader's machine is refused;
// the reading is cluster/access.ts's accessFromKubeconfigText, the reconciler's too).

import { accessFromKubeconfigText, type KubeAccess } from "./access.js";
import { apiRefusal } from "./api-errors.js";
import { RestClient } from "./rest.js";
import { clusterCall, requireTeam } from "./team-namespace.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { baselineHookName, controlPlaneNamespace, KFLEX_API_VERSION, KFLEX_KUBECONFIG_KEY, KFLEX_KUBECONFIG_SECRET } from "../model/controlplane.js";
import { teamNameProblems } from "../model/names.js";
import { MANAGED_BY_LABEL, TEAM_LABEL } from "../model/labels.js";
import type { KubeObject } from "../model/object.js";

/** A ControlPlane condition as KubeFlex writes it. */
export interface ControlPlaneCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

/** The fields of a ControlPlane (tenancy.kflex.kubestellar.org/v1alpha1) tenantry reads. */
export interface ControlPlaneObject extends KubeObject {
  spec?: { readonly type?: string; readonly backend?: string };
  status?: {
    readonly conditions?: readonly ControlPlaneCondition[];
    readonly secretRef?: { readonly name?: string; readonly namespace?: string; readonly key?: string; readonly inClusterKey?: string };
    readonly postCreateHooks?: Readonly<Record<string, boolean>>;
    readonly postCreateHookCompleted?: boolean;
  };
}

/** A key of a Secret: where a control plane's kubeconfig is read from. */
export interface SecretKeyRef {
  readonly name: string;
  readonly namespace: string;
  readonly key: string;
}

export function secretKeyText(ref: SecretKeyRef): string {
  return `Secret ${ref.namespace}/${ref.name} key ${ref.key}`;
}

/** Where a team's objects are read and its credentials minted. */
export type TeamTarget =
  | { readonly isolation: "namespace"; readonly team: string; readonly namespace: string; readonly access: KubeAccess }
  | {
      readonly isolation: "controlplane";
      readonly team: string;
      readonly namespace: string;
      /** The team's API server, as the admin kubeconfig of its Secret: in memory only. */
      readonly access: KubeAccess;
      readonly controlPlane: string;
      readonly secret: SecretKeyRef;
    };

/** What a view says about where it read: the API server, and for a controlplane team which ControlPlane and Secret. */
export interface ReadFrom {
  readonly isolation: "namespace" | "controlplane";
  readonly server: string;
  readonly namespace: string;
  readonly controlPlane?: string;
  readonly secret?: string;
}

export function readFrom(t: TeamTarget): ReadFrom {
  const base = { isolation: t.isolation, server: t.access.cluster.server, namespace: t.namespace };
  return t.isolation === "namespace" ? base : { ...base, controlPlane: t.controlPlane, secret: `${t.secret.namespace}/${t.secret.name}` };
}

/** The API path of ControlPlane `name` (cluster-scoped); a GET answers 404 both when the CRD is absent and when the object is. */
export function controlPlanePath(name?: string): string {
  return `/apis/${KFLEX_API_VERSION}/controlplanes${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}

/** The Secret key the CLI reads the control plane's kubeconfig from: status.secretRef's name, namespace and key, else KubeFlex's defaults. */
export function kubeconfigSecretRef(cp: ControlPlaneObject): SecretKeyRef {
  const ref = cp.status?.secretRef;
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === "" ? undefined : v);
  return {
    name: nonEmpty(ref?.name) ?? KFLEX_KUBECONFIG_SECRET,
    namespace: nonEmpty(ref?.namespace) ?? controlPlaneNamespace(cp.metadata.name),
    // `key` is the external address; inClusterKey is only reachable from inside the host cluster.
    key: nonEmpty(ref?.key) ?? KFLEX_KUBECONFIG_KEY,
  };
}

/** The ControlPlane's Ready condition, or undefined before KubeFlex wrote one. */
export function readyCondition(cp: ControlPlaneObject): ControlPlaneCondition | undefined {
  return cp.status?.conditions?.find((c) => c.type === "Ready");
}

/** Why the ControlPlane's API server cannot be used yet, as one line with the fix; undefined when it is Ready. */
export function notReadyProblem(cp: ControlPlaneObject): string | undefined {
  const name = cp.metadata.name;
  const ready = readyCondition(cp);
  if (ready?.status === "True") return undefined;
  const look = `kubectl get controlplane ${name} -o yaml shows its status`;
  if (ready === undefined) {
    return `ControlPlane ${name} is not Ready: it has no status yet (KubeFlex has not reconciled it): wait for KubeFlex's operator to bring it up (${look})`;
  }
  const why = [ready.reason, ready.message].filter((s) => s !== undefined && s !== "").join(": ");
  return `ControlPlane ${name} is not Ready (Ready=${ready.status}${why === "" ? "" : ` ${why}`}): wait for KubeFlex to bring it up, or fix what it reports (${look})`;
}

/**
 * The access a kubeconfig from a Secret gives (cluster/access.ts's reading of a Secret's
 * kubeconfig: its current context, or its only one; embedded data only), with `namespace` as
 * the default namespace. A problem is one line naming `where` (the Secret and key), exit 2.
 */
export function accessFromSecretKubeconfig(text: string, where: string, namespace: string): KubeAccess {
  const r = accessFromKubeconfigText(text);
  if ("problem" in r) throw new TenantryError(`the kubeconfig in ${where} cannot be used: ${r.problem}`, ExitCode.invalid);
  return { ...r.access, namespace };
}

const FORBIDDEN = Symbol("forbidden");

/** ControlPlane `team` on the host; null when the CRD or the object is absent; FORBIDDEN on 403; anything else is an error. */
async function readControlPlane(client: RestClient, team: string): Promise<ControlPlaneObject | null | typeof FORBIDDEN> {
  return clusterCall(client, `reading ControlPlane ${team}`, async () => {
    try {
      return await client.get<ControlPlaneObject>(controlPlanePath(team));
    } catch (e) {
      const code = apiRefusal(e)?.code;
      if (code === 404) return null;
      if (code === 403) return FORBIDDEN;
      throw e;
    }
  });
}

/**
 * Why ControlPlane `cp` is not one tenantry may use for team `team`, or undefined: it must carry
 * the labels tenantry renders (anyone else allowed to create ControlPlanes could otherwise
 * redirect `kubeconfig <team>` and `ctx <team>` to an API server of theirs), and its Secret must
 * be in <team>-system, where KubeFlex always writes it.
 */
export function foreignControlPlaneProblem(cp: ControlPlaneObject, team: string): string | undefined {
  const labels = (cp.metadata as { labels?: Record<string, string> }).labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== "tenantry" || labels[TEAM_LABEL] !== team) {
    return `ControlPlane ${team} is not tenantry's (it lacks the labels ${MANAGED_BY_LABEL}=tenantry and ${TEAM_LABEL}=${team} the admin repo renders): tenantry reaches no API server through it; check who created it (kubectl get controlplane ${team} -o yaml)`;
  }
  const ref = kubeconfigSecretRef(cp);
  if (ref.namespace !== controlPlaneNamespace(team)) {
    return `ControlPlane ${team}'s status.secretRef names Secret ${ref.namespace}/${ref.name}, outside ${controlPlaneNamespace(team)} where KubeFlex writes it: tenantry reads no kubeconfig from there; check the ControlPlane's status`;
  }
  return undefined;
}

/** The admin kubeconfig of ControlPlane `cp` from its Secret, as an access in memory. */
async function controlPlaneAccess(host: RestClient, cp: ControlPlaneObject, team: string): Promise<{ access: KubeAccess; secret: SecretKeyRef }> {
  const foreign = foreignControlPlaneProblem(cp, team);
  if (foreign !== undefined) throw new TenantryError(foreign, ExitCode.failure);
  const problem = notReadyProblem(cp);
  if (problem !== undefined) throw new TenantryError(problem, ExitCode.failure);
  const ref = kubeconfigSecretRef(cp);
  const fix = `KubeFlex writes it once ControlPlane ${team} is up: check kubectl get controlplane ${team} -o yaml (status.secretRef)`;
  const secret = await clusterCall(host, `reading ${secretKeyText(ref)} (the kubeconfig of ControlPlane ${team})`, async () => {
    try {
      return await host.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/secrets/${encodeURIComponent(ref.name)}`);
    } catch (e) {
      if (apiRefusal(e)?.code === 404) throw new TenantryError(`Secret ${ref.namespace}/${ref.name} (the kubeconfig of ControlPlane ${team}) does not exist: ${fix}`, ExitCode.failure);
      throw e;
    }
  });
  const data = secret.data?.[ref.key];
  if (data === undefined || data === "") throw new TenantryError(`Secret ${ref.namespace}/${ref.name} (the kubeconfig of ControlPlane ${team}) has no key ${ref.key}: ${fix}`, ExitCode.failure);
  const text = Buffer.from(data, "base64").toString("utf8");
  return { access: accessFromSecretKubeconfig(text, `${secretKeyText(ref)} (ControlPlane ${team})`, team), secret: ref };
}

/**
 * Checks that the team's API server has namespace <team> (the baseline KubeFlex's
 * PostCreateHook lays). An identity that may not read Namespaces gets the benefit of the
 * doubt, as on the host.
 */
async function requireControlPlaneNamespace(t: Extract<TeamTarget, { isolation: "controlplane" }>): Promise<void> {
  const client = RestClient.forConfig(t.access);
  await withinControlPlane(t, () =>
    clusterCall(client, `reading namespace ${t.team} in the API server of ControlPlane ${t.team}`, async () => {
      try {
        await client.get(`/api/v1/namespaces/${encodeURIComponent(t.team)}`);
      } catch (e) {
        const code = apiRefusal(e)?.code;
        if (code === 403) return;
        if (code === 404) {
          throw new TenantryError(
            `the API server of ControlPlane ${t.team} (${client.server}) has no namespace ${t.team}: its baseline (PostCreateHook ${baselineHookName(t.team)}) has not been applied: kubectl get controlplane ${t.team} -o yaml shows status.postCreateHooks`,
            ExitCode.failure,
          );
        }
        throw e;
      }
    }),
  );
}

/** Runs `fn` against a team's control plane, naming it in any one-line error. */
export async function withinControlPlane<T>(t: TeamTarget, fn: () => Promise<T>): Promise<T> {
  if (t.isolation === "namespace") return fn();
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TenantryError && !e.message.includes(`ControlPlane ${t.team}`)) {
      throw new TenantryError(`the API server of ControlPlane ${t.team} (from ${secretKeyText(t.secret)}): ${e.message}`, e.exitCode);
    }
    throw e;
  }
}

/**
 * ControlPlane `team` on the host, or null when `team` is a namespace team (the CRD or the
 * object is absent). Any failure other than 404 is an error, never a silent fallback, with
 * one exception: an identity that may read neither ControlPlanes nor namespace <team> (a
 * team's own context, from `tenantry ctx`) is taken to point at the team's namespace
 * already, as before, and the API server judges what it may do there.
 */
export async function findControlPlane(host: KubeAccess, team: string): Promise<ControlPlaneObject | null> {
  const problems = teamNameProblems(team);
  if (problems.length > 0) throw new ValidationError(problems);
  const client = RestClient.forConfig(host);
  const cp = await readControlPlane(client, team);
  if (cp !== FORBIDDEN) return cp;
  const nsCode = await clusterCall(client, `reading namespace ${team}`, () =>
    client.get(`/api/v1/namespaces/${encodeURIComponent(team)}`).then(
      () => 200,
      (e: unknown) => {
        const code = apiRefusal(e)?.code;
        if (code === 404 || code === 403) return code;
        throw e;
      },
    ),
  );
  if (nsCode === 404) {
    throw new TenantryError(
      `cannot tell where team ${team} lives: the kubeconfig's identity may not read ControlPlane ${team} (${KFLEX_API_VERSION}, HTTP 403) and the cluster has no namespace ${team}: use an admin kubeconfig (--kubeconfig), or a context of the team's own API server`,
      ExitCode.external,
    );
  }
  return null;
}

/**
 * Where team `team`'s namespace is, seen with `host` (the kubeconfig the person gave): in its
 * own API server when ControlPlane <team> exists on the host (findControlPlane), which must
 * then be Ready, its Secret readable and its API server have namespace <team>; else on the
 * host, whose namespace <team> must be labelled as a team's.
 */
export async function resolveTeamTarget(host: KubeAccess, team: string): Promise<TeamTarget> {
  const cp = await findControlPlane(host, team);
  if (cp === null) {
    await requireTeam(RestClient.forConfig(host), team);
    return { isolation: "namespace", team, namespace: team, access: host };
  }
  const target = await controlPlaneTarget(host, cp);
  await requireControlPlaneNamespace(target);
  return target;
}

/** Every ControlPlane on the host; null when the host does not serve them (no KubeFlex) or the identity may not list them. */
export async function listControlPlanes(host: KubeAccess): Promise<{ items: ControlPlaneObject[] } | { items: null; why: "not served" | "forbidden" }> {
  const client = RestClient.forConfig(host);
  return clusterCall(client, "listing ControlPlanes", async () => {
    try {
      return { items: (await client.listAll(controlPlanePath())).map((o): ControlPlaneObject => ({ ...o, apiVersion: KFLEX_API_VERSION, kind: "ControlPlane" })) };
    } catch (e) {
      const code = apiRefusal(e)?.code;
      if (code === 404) return { items: null, why: "not served" as const };
      if (code === 403) return { items: null, why: "forbidden" as const };
      throw e;
    }
  });
}

/** The access to ControlPlane `cp`'s API server, for a view that lists it (status): the same checks as resolveTeamTarget. */
export async function controlPlaneTarget(host: KubeAccess, cp: ControlPlaneObject): Promise<Extract<TeamTarget, { isolation: "controlplane" }>> {
  const team = cp.metadata.name;
  const { access, secret } = await controlPlaneAccess(RestClient.forConfig(host), cp, team);
  return { isolation: "controlplane", team, namespace: team, access, controlPlane: team, secret };
}
