// The I/O edge of status, resources and usage: reads what each view needs from the API
// server (bounded concurrency for discovery and lists) and hands it to the pure cores.

import type { KubeAccess } from "../cluster/access.js";
import { apiRefusal, unreachable } from "../cluster/api-errors.js";
import { ExitCode, TenantryError } from "../errors.js";
import type { KubeObject } from "../model/object.js";
import type { GitSync } from "../model/gitsync.js";
import type { SyncEngine } from "../model/cluster-config.js";
import { mapLimit } from "../concurrency.js";
import { RestClient } from "../cluster/rest.js";
import { clusterCall, requireTeam } from "../cluster/team-namespace.js";
import { type ControlPlaneObject, controlPlaneTarget, findControlPlane, listControlPlanes, type ReadFrom, readFrom, resolveTeamTarget, type TeamTarget, withinControlPlane } from "../cluster/controlplane-access.js";
import { type ControlPlaneRow, controlPlaneRows } from "./controlplanes.js";
import { type ApiGroupList, type ApiResourceList, type KindGroup, listableKinds, listPath, preferredGroupVersions, qualifiedResource, resourceTree } from "./resources.js";
import { FLUX_GITREPOSITORIES, FLUX_KUSTOMIZATIONS, fluxInventoryEntry, type FullestQuota, fullestQuota, type QuotaObject, type StatusRow, type SyncObject, syncStatusRows } from "./status.js";
import { CONSTRAINT_GROUP, type ConstraintObject, enforcementView, type EnforcementView, type Expected, GATEKEEPER_WEBHOOK, TEMPLATE_GROUP, type TemplateObject, unreadableView, type WebhookAnswer } from "./enforcement.js";
import { headerOf } from "../model/gitsync.js";
import { groupOf } from "../model/object.js";
import { TEAM_LABEL } from "../model/labels.js";
import { type PodMetrics, type PodUsage, podUsage, type QuotaUsage, quotaUsage } from "./usage.js";

const CONCURRENCY = 8;

/** Which engine's sync objects status lists: `tenantry.yaml`'s spec.engine, or undefined to ask the cluster. */
export type StatusEngine = SyncEngine;

export interface StatusOptions {
  readonly now?: () => Date;
  /** The admin repo's engine; without it, whatever sync objects the cluster serves are listed. */
  readonly engine?: StatusEngine;
}

const NO_TENANTRY = (server: string): string => `the cluster at ${server} serves no GitSyncs: tenantry is not installed there (apply the admin repo's cluster/common)`;

/** The GitSyncs, or null when the cluster does not serve them. */
async function listGitSyncs(client: RestClient): Promise<SyncObject[] | null> {
  try {
    return await client.listAll("/apis/tenantry.dev/v1alpha1/gitsyncs");
  } catch (e) {
    if (apiRefusal(e)?.code === 404) return null;
    throw e;
  }
}

/** Flux's Kustomizations and GitRepositories (kinds set: lists leave them out), or null when the cluster serves no Kustomizations. */
async function listFluxSyncs(client: RestClient): Promise<SyncObject[] | null> {
  const list = async (apiVersion: string, kind: string, resource: string): Promise<SyncObject[] | null> => {
    try {
      return (await client.listAll(`/apis/${apiVersion}/${resource}`)).map((o): SyncObject => ({ ...o, apiVersion, kind }));
    } catch (e) {
      if (apiRefusal(e)?.code === 404) return null;
      throw e;
    }
  };
  const [kustomizations, repositories] = await Promise.all([list(FLUX_KUSTOMIZATIONS, "Kustomization", "kustomizations"), list(FLUX_GITREPOSITORIES, "GitRepository", "gitrepositories")]);
  return kustomizations === null ? null : [...kustomizations, ...(repositories ?? [])];
}

/**
 * The rows of `tenantry status`: the engine's sync objects (GitSyncs, or Flux's Kustomizations
 * and GitRepositories), or, when the engine is not known, those of every engine the cluster
 * serves. GitSyncs are listed first, so a refusal to list them is the error as before.
 */
export async function gatherStatus(kc: KubeAccess, opts: StatusOptions | (() => Date) = {}): Promise<StatusRow[]> {
  const { now = () => new Date(), engine } = typeof opts === "function" ? { now: opts } : opts;
  const client = RestClient.forConfig(kc);
  return clusterCall(client, engine === "flux" ? "listing Flux's Kustomizations" : "listing GitSyncs", async () => {
    const gitsyncs = engine === "flux" ? [] : await listGitSyncs(client);
    if (gitsyncs === null && engine === "tenantry") throw new TenantryError(NO_TENANTRY(client.server), ExitCode.failure);
    // Asked only to find out: where GitSyncs are listed, a refusal to list Flux's kinds (the
    // API server answers 403 rather than 404 to an identity without rights) hides nothing.
    const flux =
      engine === "tenantry"
        ? []
        : await listFluxSyncs(client).catch((e: unknown) => {
            if (engine === undefined && gitsyncs !== null && apiRefusal(e)?.code === 403) return null;
            throw e;
          });
    if (flux === null && engine === "flux") {
      throw new TenantryError(`the cluster at ${client.server} serves no Flux Kustomizations (${FLUX_KUSTOMIZATIONS}): Flux is not installed there (apply the admin repo's cluster/common, or run tenantry bootstrap)`, ExitCode.failure);
    }
    if (gitsyncs === null && flux === null) throw new TenantryError(NO_TENANTRY(client.server), ExitCode.failure);
    const [namespaces, quotas] = await Promise.all([client.listAll("/api/v1/namespaces", TEAM_LABEL), client.listAll("/api/v1/resourcequotas") as Promise<QuotaObject[]>]);
    return syncStatusRows([...(gitsyncs ?? []), ...(flux ?? [])], namespaces, quotas, now());
  });
}

/** The identity may not read `path`: the enforcement view says so instead of guessing. */
class Unreadable extends Error {
  constructor(readonly path: string) {
    super(path);
  }
}

/** A list that may be absent: null when the cluster does not serve it (404). */
async function listOrNull<T extends KubeObject = KubeObject>(client: RestClient, path: string, labelSelector?: string): Promise<T[] | null> {
  try {
    return (await client.listAll(path, labelSelector)) as T[];
  } catch (e) {
    if (apiRefusal(e)?.code === 404) return null;
    if (apiRefusal(e)?.code === 403) throw new Unreadable(path);
    throw e;
  }
}

const ENFORCEMENT_GROUPS = new Set([TEMPLATE_GROUP, CONSTRAINT_GROUP, "admissionregistration.k8s.io"]);

/**
 * Whether the API server reaches Gatekeeper's webhook: a server-side dry run of a Namespace
 * asking to be ignored by Gatekeeper, which its check-ignore-label webhook (failurePolicy
 * Fail) refuses when it answers. Nothing is stored.
 */
async function probeGatekeeperWebhook(client: RestClient): Promise<WebhookAnswer> {
  const probe: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "tenantry-gatekeeper-probe", labels: { "admission.gatekeeper.sh/ignore": "probe" } } };
  try {
    await client.createObject(probe, { dryRun: true });
    return { answers: false, why: "a Namespace labelled admission.gatekeeper.sh/ignore was admitted: its check-ignore-label webhook is not called" };
  } catch (e) {
    const r = apiRefusal(e);
    if (r === undefined) throw e;
    if (r.message.includes('admission webhook "check-ignore-label.gatekeeper.sh" denied')) return { answers: true };
    if (r.code === 403 && !r.message.includes("admission webhook")) return { unknown: "no right to dry-run a Namespace, so it was not probed" };
    if (r.code === 409) return { unknown: "a Namespace named tenantry-gatekeeper-probe exists, so it was not probed" };
    return { answers: false, why: r.message };
  }
}

/** The policy engines: what the admin repo applied against what the cluster enforces. */
export async function gatherEnforcement(kc: KubeAccess): Promise<EnforcementView> {
  const client = RestClient.forConfig(kc);
  return clusterCall(client, "reading the policy engines", () =>
    readEnforcement(client).catch((e: unknown) => {
      if (e instanceof Unreadable) return unreadableView(e.path);
      throw e;
    }),
  );
}

async function readEnforcement(client: RestClient): Promise<EnforcementView> {
  {
    // The admin sync's inventory says what the admin repo applied: a GitSync's, or under Flux
    // a Kustomization's (the same `<ns>_<name>_<group>_<kind>` ids; Flux writes only the
    // version in `v`, fluxInventoryEntry adds the group).
    const [gitsyncs, kustomizations, teamNamespaces] = await Promise.all([
      listOrNull(client, "/apis/tenantry.dev/v1alpha1/gitsyncs"),
      // Optional: on a cluster without Flux an identity with narrow rights gets 403, not 404, for it.
      listOrNull(client, `/apis/${FLUX_KUSTOMIZATIONS}/kustomizations`).catch((e: unknown) => {
        if (e instanceof Unreadable) return null;
        throw e;
      }),
      listOrNull(client, "/api/v1/namespaces", TEAM_LABEL).then((l) => l ?? []),
    ]);
    const teams = new Set(teamNamespaces.map((n) => n.metadata.name));
    const admin = (objects: KubeObject[] | null): GitSync[] => ((objects ?? []) as GitSync[]).filter((g) => !teams.has(g.metadata.namespace));
    const expected: Expected[] = [...admin(gitsyncs).flatMap((g) => g.status?.inventory?.entries ?? []), ...admin(kustomizations).flatMap((k) => (k.status?.inventory?.entries ?? []).map(fluxInventoryEntry))]
      .filter((e) => ENFORCEMENT_GROUPS.has(groupOf(e.v)))
      .map((e) => {
        const h = headerOf(e);
        return { apiVersion: h.apiVersion, kind: h.kind, name: h.metadata.name };
      });
    const templates = await listOrNull<TemplateObject>(client, `/apis/${TEMPLATE_GROUP}/v1/constrainttemplates`);
    const kinds = [...new Set((templates ?? []).filter((t) => t.status?.created === true).map((t) => t.spec?.crd?.spec?.names?.kind).filter((k): k is string => typeof k === "string"))];
    const constraints = (
      await mapLimit(kinds, CONCURRENCY, async (kind) => ((await listOrNull(client, `/apis/${CONSTRAINT_GROUP}/v1beta1/${kind.toLowerCase()}`)) ?? []).map((o): ConstraintObject => ({ ...o, apiVersion: `${CONSTRAINT_GROUP}/v1beta1`, kind })))
    ).flat();
    const webhook =
      templates === null
        ? null
        : await client.readObject({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: GATEKEEPER_WEBHOOK } }).catch((e: unknown) => {
            if (apiRefusal(e)?.code === 404) return null;
            if (apiRefusal(e)?.code === 403) throw new Unreadable("validatingwebhookconfigurations");
            throw e;
          });
    const [webhookAnswer, admissionPolicies, admissionBindings] = await Promise.all([
      webhook === null ? null : probeGatekeeperWebhook(client),
      listOrNull(client, "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"),
      listOrNull(client, "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"),
    ]);
    return enforcementView({ expected, templates, constraints, webhook, teamNamespaces: [...teams], webhookAnswer, admissionPolicies: admissionPolicies ?? [], admissionBindings: admissionBindings ?? [] });
  }
}

export interface Skipped {
  readonly resource: string;
  readonly reason: string;
}

export interface ResourcesView {
  readonly team: string;
  readonly namespace: string;
  readonly groups: KindGroup[];
  /** Kinds or API groups that could not be read (forbidden, unavailable). */
  readonly skipped: Skipped[];
  /** The API server read: the host's, or a controlplane team's own (its ControlPlane and Secret). */
  readonly readFrom: ReadFrom;
}

/** A list or discovery failure that only hides one kind; anything else ends the command. */
function skippable(e: unknown, server: string): string {
  const down = unreachable(e, server);
  if (down !== undefined) throw down;
  const r = apiRefusal(e);
  if (r === undefined) throw e;
  return r.code === 403 ? "forbidden" : `HTTP ${r.code}`;
}

/** A view of team `team`'s namespace: on the host, or in its own control plane; `read` runs against that API server. */
async function inTeamNamespace<T>(kc: KubeAccess, team: string, read: (client: RestClient, target: TeamTarget) => Promise<T>): Promise<T> {
  const target = await resolveTeamTarget(kc, team);
  return withinControlPlane(target, () => read(RestClient.forConfig(target.access), target));
}

export async function gatherResources(kc: KubeAccess, team: string): Promise<ResourcesView> {
  return inTeamNamespace(kc, team, (client, target) => readResources(client, team, readFrom(target)));
}

async function readResources(client: RestClient, team: string, from: ReadFrom): Promise<ResourcesView> {
  const server = client.server;
  return clusterCall(client, `listing the resources of namespace ${team}`, async () => {
    const skipped: Skipped[] = [];
    const [core, groups] = await Promise.all([client.get<ApiResourceList>("/api/v1"), client.get<ApiGroupList>("/apis")]);
    const lists = await mapLimit(preferredGroupVersions(groups), CONCURRENCY, async (gv) => {
      try {
        return await client.get<ApiResourceList>(`/apis/${gv}`);
      } catch (e) {
        skipped.push({ resource: gv, reason: skippable(e, server) });
        return undefined;
      }
    });
    const kinds = listableKinds([core, ...lists.filter((l): l is ApiResourceList => l !== undefined)]);
    const found = await mapLimit(kinds, CONCURRENCY, async (k) => {
      try {
        const items = await client.listAll(listPath(k, team));
        // Lists leave apiVersion and kind out of their items.
        return items.map((o): KubeObject => ({ ...o, apiVersion: k.apiVersion, kind: k.kind }));
      } catch (e) {
        skipped.push({ resource: qualifiedResource(k), reason: skippable(e, server) });
        return [];
      }
    });
    return { team, namespace: team, groups: resourceTree(found.flat()), skipped: skipped.sort((a, b) => a.resource.localeCompare(b.resource)), readFrom: from };
  });
}

export interface UsageView {
  readonly team: string;
  readonly namespace: string;
  readonly quotas: QuotaUsage[];
  /** null when metrics-server does not answer; `metricsNote` says why. */
  readonly pods: PodUsage[] | null;
  readonly metricsNote?: string;
  /** The API server read: the host's, or a controlplane team's own (its ControlPlane and Secret). */
  readonly readFrom: ReadFrom;
}

export const NO_METRICS_SERVER = "metrics-server is not installed: pod CPU/memory usage is not available";

export async function gatherUsage(kc: KubeAccess, team: string): Promise<UsageView> {
  return inTeamNamespace(kc, team, (client, target) => readUsage(client, team, readFrom(target)));
}

async function readUsage(client: RestClient, team: string, from: ReadFrom): Promise<UsageView> {
  const server = client.server;
  return clusterCall(client, `reading the quota of namespace ${team}`, async () => {
    const quotas = quotaUsage(await client.listAll(`/api/v1/namespaces/${team}/resourcequotas`));
    try {
      const metrics = (await client.listAll(`/apis/metrics.k8s.io/v1beta1/namespaces/${team}/pods`)) as PodMetrics[];
      return { team, namespace: team, quotas, pods: podUsage(metrics), readFrom: from };
    } catch (e) {
      const reason = skippable(e, server);
      const note = reason === "HTTP 404" ? NO_METRICS_SERVER : `metrics-server did not answer (${reason}): pod CPU/memory usage is not available`;
      return { team, namespace: team, quotas, pods: null, metricsNote: note, readFrom: from };
    }
  });
}

export interface ControlPlanesView {
  /** null when the host serves no ControlPlanes (KubeFlex is not installed) or may not list them (`note` says which). */
  readonly rows: ControlPlaneRow[] | null;
  readonly note?: string;
}

/** The ControlPlanes of controlplane teams on the host; `team` keeps only that team's. */
export async function gatherControlPlanes(kc: KubeAccess, now: Date = new Date(), team?: string): Promise<ControlPlanesView> {
  const listed = await listControlPlanes(kc);
  if (listed.items === null) return { rows: null, ...(listed.why === "forbidden" ? { note: "ControlPlanes not shown: the kubeconfig's identity may not list them (tenancy.kflex.kubestellar.org)" } : {}) };
  return { rows: controlPlaneRows(team === undefined ? listed.items : listed.items.filter((cp) => cp.metadata.name === team), now) };
}

export interface TeamStatus {
  readonly rows: StatusRow[];
  readonly controlPlanes: ControlPlanesView;
  /** Where the team's namespace is (its quota is read there). */
  readonly isolation: "namespace" | "controlplane";
  /** Why the quota of a controlplane team's namespace could not be read (its ControlPlane not Ready, its Secret missing). */
  readonly notes: string[];
}

/** The fullest quota of namespace `team` in its control plane; a failure is a note, since status reports rather than fails. */
async function controlPlaneQuota(kc: KubeAccess, cp: ControlPlaneObject): Promise<FullestQuota | string | null> {
  try {
    const target = await controlPlaneTarget(kc, cp);
    const client = RestClient.forConfig(target.access);
    const quotas = await withinControlPlane(target, () => clusterCall(client, `reading the quota of namespace ${target.team}`, () => client.listAll(`/api/v1/namespaces/${target.team}/resourcequotas`)));
    return fullestQuota(quotas);
  } catch (e) {
    if (e instanceof TenantryError) return `quota of team ${cp.metadata.name} not read: ${e.message}`;
    throw e;
  }
}

/**
 * `tenantry status <team>`: the team's sync objects (for a controlplane team, GitSync
 * tenantry-system/<team> on the host, its quota read in the team's own API server) and its
 * ControlPlane.
 */
export async function gatherTeamStatus(kc: KubeAccess, team: string, opts: StatusOptions = {}): Promise<TeamStatus> {
  const now = opts.now ?? (() => new Date());
  const cp = await findControlPlane(kc, team);
  if (cp === null) {
    const client = RestClient.forConfig(kc);
    await requireTeam(client, team);
    const rows = (await gatherStatus(kc, opts)).filter((r) => r.team === team);
    return { rows, controlPlanes: { rows: null }, isolation: "namespace", notes: [] };
  }
  const [all, quota] = await Promise.all([gatherStatus(kc, opts), controlPlaneQuota(kc, cp)]);
  const notes = typeof quota === "string" ? [quota] : [];
  const rows = all.filter((r) => r.team === team).map((r) => (r.kind === "GitSync" && typeof quota !== "string" ? { ...r, quota } : r));
  return { rows, controlPlanes: { rows: controlPlaneRows([cp], now()) }, isolation: "controlplane", notes };
}
