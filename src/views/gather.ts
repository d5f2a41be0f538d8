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
import { ListMemo } from "../cluster/list-memo.js";
import { clusterCall, requireTeam, type TeamNamespaces, teamNamespaces } from "../cluster/team-namespace.js";
import { type ControlPlaneObject, controlPlaneTarget, findControlPlane, listControlPlanes, type ReadFrom, readFrom, resolveTeamTarget, type TeamTarget, withinControlPlane } from "../cluster/controlplane-access.js";
import { type ControlPlaneRow, controlPlaneRows } from "./controlplanes.js";
import { type ApiGroupList, type ApiResourceList, type KindGroup, listableKinds, listPath, preferredGroupVersions, qualifiedResource, resourceTree } from "./resources.js";
import { FLUX_GITREPOSITORIES, FLUX_KUSTOMIZATIONS, fluxInventoryEntry, type FullestQuota, fullestQuota, type QuotaObject, type StatusRow, type SyncObject, syncStatusRows } from "./status.js";
import { CONSTRAINT_GROUP, type ConstraintObject, enforcementView, type EnforcementView, type Expected, GATEKEEPER_WEBHOOK, TEMPLATE_GROUP, type TemplateObject, unreadableView, type WebhookAnswer } from "./enforcement.js";
import { headerOf, type InventoryEntry } from "../model/gitsync.js";
import { inventoryEntries } from "../model/inventory-store.js";
import { groupOf } from "../model/object.js";
import { TEAM_LABEL } from "../model/labels.js";
import { APP_LABEL } from "../model/apps.js";
import { type PodMetrics, type PodUsage, podUsage, type QuotaUsage, quotaUsage, teamTotal, type TotalUsage } from "./usage.js";

const CONCURRENCY = 8;

/** Which engine's sync objects status lists: `tenantry.yaml`'s spec.engine, or undefined to ask the cluster. */
export type StatusEngine = SyncEngine;

export interface StatusOptions {
  readonly now?: () => Date;
  /** The admin repo's engine; without it, whatever sync objects the cluster serves are listed. */
  readonly engine?: StatusEngine;
  /** Lists shared with other views of the same answer (the enforcement view's GitSyncs and team namespaces). */
  readonly lists?: ListMemo;
}

const NO_TENANTRY = (server: string): string => `the cluster at ${server} serves no GitSyncs: tenantry is not installed there (apply the admin repo's cluster/common)`;

/** The GitSyncs, or null when the cluster does not serve them. */
async function listGitSyncs(client: RestClient, lists: ListMemo): Promise<SyncObject[] | null> {
  try {
    return await lists.listAll(client, "/apis/tenantry.dev/v1alpha1/gitsyncs");
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
  const { now = () => new Date(), engine, lists = new ListMemo() } = typeof opts === "function" ? { now: opts } : opts;
  const client = RestClient.forConfig(kc);
  return clusterCall(client, engine === "flux" ? "listing Flux's Kustomizations" : "listing GitSyncs", async () => {
    // Every list is asked for at once; their answers are taken in this order, so which
    // refusal is the error does not depend on which answer came first.
    const started = {
      gitsyncs: engine === "flux" ? Promise.resolve([]) : listGitSyncs(client, lists),
      flux: engine === "tenantry" ? Promise.resolve([]) : listFluxSyncs(client),
      namespaces: lists.listAll(client, "/api/v1/namespaces", TEAM_LABEL),
      quotas: client.listAll("/api/v1/resourcequotas") as Promise<QuotaObject[]>,
    };
    for (const p of Object.values(started)) (p as Promise<unknown>).catch(() => undefined); // each is awaited below, or given up with the first error
    const gitsyncs = await started.gitsyncs;
    if (gitsyncs === null && engine === "tenantry") throw new TenantryError(NO_TENANTRY(client.server), ExitCode.failure);
    // Asked only to find out: where GitSyncs are listed, a refusal to list Flux's kinds (the
    // API server answers 403 rather than 404 to an identity without rights) hides nothing.
    const flux = await started.flux.catch((e: unknown) => {
      if (engine === undefined && gitsyncs !== null && apiRefusal(e)?.code === 403) return null;
      throw e;
    });
    if (flux === null && engine === "flux") {
      throw new TenantryError(`the cluster at ${client.server} serves no Flux Kustomizations (${FLUX_KUSTOMIZATIONS}): Flux is not installed there (apply the admin repo's cluster/common, or run tenantry bootstrap)`, ExitCode.failure);
    }
    if (gitsyncs === null && flux === null) throw new TenantryError(NO_TENANTRY(client.server), ExitCode.failure);
    const [namespaces, quotas] = await Promise.all([started.namespaces, started.quotas]);
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
async function listOrNull<T extends KubeObject = KubeObject>(client: RestClient, path: string, labelSelector?: string, lists?: ListMemo): Promise<T[] | null> {
  try {
    return (await (lists === undefined ? client.listAll(path, labelSelector) : lists.listAll(client, path, labelSelector))) as T[];
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
export async function gatherEnforcement(kc: KubeAccess, lists: ListMemo = new ListMemo()): Promise<EnforcementView> {
  const client = RestClient.forConfig(kc);
  return clusterCall(client, "reading the policy engines", () =>
    readEnforcement(client, lists).catch((e: unknown) => {
      if (e instanceof Unreadable) return unreadableView(e.path);
      throw e;
    }),
  );
}

/** A GitSync's inventory; an unreadable compressed one counts as none (its next run fails with InventoryUnreadable, which status shows). */
function readableEntries(gs: GitSync): readonly InventoryEntry[] {
  try {
    return inventoryEntries(gs.status?.inventory);
  } catch {
    return [];
  }
}

async function readEnforcement(client: RestClient, lists: ListMemo): Promise<EnforcementView> {
  {
    // The admin sync's inventory says what the admin repo applied: a GitSync's, or under Flux
    // a Kustomization's (the same `<ns>_<name>_<group>_<kind>` ids; Flux writes only the
    // version in `v`, fluxInventoryEntry adds the group).
    const [gitsyncs, kustomizations, teamNamespaces] = await Promise.all([
      listOrNull(client, "/apis/tenantry.dev/v1alpha1/gitsyncs", undefined, lists),
      // Optional: on a cluster without Flux an identity with narrow rights gets 403, not 404, for it.
      listOrNull(client, `/apis/${FLUX_KUSTOMIZATIONS}/kustomizations`).catch((e: unknown) => {
        if (e instanceof Unreadable) return null;
        throw e;
      }),
      listOrNull(client, "/api/v1/namespaces", TEAM_LABEL, lists).then((l) => l ?? []),
    ]);
    const teams = new Set(teamNamespaces.map((n) => n.metadata.name));
    const admin = (objects: KubeObject[] | null): GitSync[] => ((objects ?? []) as GitSync[]).filter((g) => !teams.has(g.metadata.namespace));
    const expected: Expected[] = [...admin(gitsyncs).flatMap((g) => readableEntries(g)), ...admin(kustomizations).flatMap((k) => (k.status?.inventory?.entries ?? []).map(fluxInventoryEntry))]
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

/** One namespace's objects in a team's resources view. */
export interface NamespaceResources {
  readonly namespace: string;
  readonly groups: KindGroup[];
}

export interface ResourcesView {
  readonly team: string;
  /** The home namespace; `groups` are its objects. */
  readonly namespace: string;
  readonly groups: KindGroup[];
  /** Every namespace of the team, home first (issue 20: the extra ones its GitSync lists), with its objects. */
  readonly namespaces: NamespaceResources[];
  /** Which extra namespaces were left out, and why (cluster/team-namespace.ts). */
  readonly notes: string[];
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

/**
 * A view of team `team`'s namespaces: on the host (home and the extra ones its GitSync lists),
 * or its one namespace in its own control plane; `read` runs against that API server.
 */
async function inTeamNamespace<T>(kc: KubeAccess, team: string, read: (client: RestClient, target: TeamTarget, namespaces: TeamNamespaces) => Promise<T>, app?: string): Promise<T> {
  const target = await resolveTeamTarget(kc, team);
  return withinControlPlane(target, async () => {
    const client = RestClient.forConfig(target.access);
    if (app !== undefined && target.isolation !== "namespace") throw new TenantryError(`team ${team} has its own control plane: it has no app instances (they are namespaces of the host)`, ExitCode.invalid);
    const namespaces = target.isolation === "namespace" ? await teamNamespaces(client, team) : { namespaces: [target.namespace], notes: [] };
    return read(client, target, app === undefined ? namespaces : await appNamespace(client, team, app, namespaces));
  });
}

/**
 * The namespace of app instance `app` of the team (`--app`): one of the team's namespaces
 * (its GitSync lists it) that, where the identity may read it, is labelled as that instance.
 */
async function appNamespace(client: RestClient, team: string, app: string, of: TeamNamespaces): Promise<TeamNamespaces> {
  const ns = `${team}-${app}`;
  const unknown = `team ${team} has no app instance ${app} on this cluster`;
  if (!of.namespaces.includes(ns)) throw new TenantryError(`${unknown}: namespace ${ns} is not one of its namespaces (${of.namespaces.join(", ")}); tenantry app list shows the instances`, ExitCode.invalid);
  try {
    const found = await client.get<KubeObject>(`/api/v1/namespaces/${ns}`);
    if (found.metadata.labels?.[APP_LABEL] !== app) throw new TenantryError(`${unknown}: namespace ${ns} is not labelled ${APP_LABEL}=${app} (an extra namespace of the team, not an instance)`, ExitCode.invalid);
  } catch (e) {
    if (e instanceof TenantryError) throw e;
    // A team's own token may not read Namespaces: its GitSync's list is the word.
    if (apiRefusal(e)?.code !== 403) return clusterCall(client, `reading namespace ${ns}`, () => Promise.reject(e as Error));
  }
  return { namespaces: [ns], notes: of.notes.filter((n) => n.includes(ns)) };
}

export async function gatherResources(kc: KubeAccess, team: string, app?: string): Promise<ResourcesView> {
  return inTeamNamespace(kc, team, (client, target, namespaces) => readResources(client, team, readFrom(target), namespaces), app);
}

async function readResources(client: RestClient, team: string, from: ReadFrom, ns: TeamNamespaces): Promise<ResourcesView> {
  const server = client.server;
  return clusterCall(client, `listing the resources of namespace ${ns.namespaces.join(", ")}`, async () => {
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
    const multi = ns.namespaces.length > 1;
    const pairs = ns.namespaces.flatMap((namespace) => kinds.map((k) => ({ namespace, k })));
    const found = await mapLimit(pairs, CONCURRENCY, async ({ namespace, k }) => {
      try {
        const items = await client.listAll(listPath(k, namespace));
        // Lists leave apiVersion and kind out of their items.
        return items.map((o): KubeObject => ({ ...o, apiVersion: k.apiVersion, kind: k.kind }));
      } catch (e) {
        // A team's namespaces answer alike: one line per kind, naming the namespace only when there are several.
        const reason = skippable(e, server);
        skipped.push({ resource: multi ? `${qualifiedResource(k)} in ${namespace}` : qualifiedResource(k), reason });
        return [];
      }
    });
    const namespaces = ns.namespaces.map((namespace) => ({ namespace, groups: resourceTree(found.flat().filter((o) => o.metadata.namespace === namespace)) }));
    const home = namespaces[0]?.groups ?? [];
    return { team, namespace: ns.namespaces[0] ?? team, groups: home, namespaces, notes: ns.notes, skipped: skipped.sort((a, b) => a.resource.localeCompare(b.resource)), readFrom: from };
  });
}

/** One namespace's quotas in a team's usage view. */
export interface NamespaceUsage {
  readonly namespace: string;
  readonly quotas: QuotaUsage[];
}

export interface UsageView {
  readonly team: string;
  /** The home namespace; `quotas` are its ResourceQuotas. */
  readonly namespace: string;
  readonly quotas: QuotaUsage[];
  /** Every namespace of the team, home first, with its ResourceQuotas (issue 20). */
  readonly namespaces: NamespaceUsage[];
  /**
   * The team's total over its namespaces, per resource of the tier: used and hard summed, and
   * the tier's own value when known (tenantry.yaml of the admin repo around; else null).
   */
  readonly total: TotalUsage[];
  /** The tier the ResourceQuotas name (annotation tenantry.dev/tier), and its quota when known. */
  readonly tier: { readonly name: string | null; readonly hard: Readonly<Record<string, string>> | null };
  /** Which extra namespaces were left out, and why. */
  readonly notes: string[];
  /** null when metrics-server does not answer; `metricsNote` says why. */
  readonly pods: PodUsage[] | null;
  readonly metricsNote?: string;
  /** The API server read: the host's, or a controlplane team's own (its ControlPlane and Secret). */
  readonly readFrom: ReadFrom;
}

export const NO_METRICS_SERVER = "metrics-server is not installed: pod CPU/memory usage is not available";

/** The quota of tier `name` as tenantry.yaml defines it, when the caller can read it (an admin repo around). */
export type TierQuotaOf = (name: string) => Readonly<Record<string, string>> | undefined;

export async function gatherUsage(kc: KubeAccess, team: string, tierQuotaOf: TierQuotaOf = () => undefined, app?: string): Promise<UsageView> {
  // One instance is measured against its own quota, not against the team's tier.
  const tier: TierQuotaOf = app === undefined ? tierQuotaOf : () => undefined;
  return inTeamNamespace(kc, team, (client, target, namespaces) => readUsage(client, team, readFrom(target), namespaces, tier), app);
}

const TIER_ANNOTATION = "tenantry.dev/tier";

async function readUsage(client: RestClient, team: string, from: ReadFrom, ns: TeamNamespaces, tierQuotaOf: TierQuotaOf): Promise<UsageView> {
  const server = client.server;
  return clusterCall(client, `reading the quota of namespace ${ns.namespaces.join(", ")}`, async () => {
    const raw = await mapLimit(ns.namespaces, CONCURRENCY, (namespace) => client.listAll(`/api/v1/namespaces/${namespace}/resourcequotas`) as Promise<QuotaObject[]>);
    const namespaces = ns.namespaces.map((namespace, i) => ({ namespace, quotas: quotaUsage(raw[i] ?? []) }));
    const tierName = raw.flat().map((q) => q.metadata.annotations?.[TIER_ANNOTATION]).find((t): t is string => t !== undefined) ?? null;
    const tierHard = tierName === null ? null : (tierQuotaOf(tierName) ?? null);
    const view = { team, namespace: ns.namespaces[0] ?? team, quotas: namespaces[0]?.quotas ?? [], namespaces, total: teamTotal(namespaces.map((n) => n.quotas), tierHard), tier: { name: tierName, hard: tierHard }, notes: ns.notes, readFrom: from };
    const multi = ns.namespaces.length > 1;
    try {
      const metrics = await mapLimit(ns.namespaces, CONCURRENCY, async (namespace) =>
        podUsage((await client.listAll(`/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods`)) as PodMetrics[]).map((p) => (multi ? { ...p, pod: `${namespace}/${p.pod}` } : p)),
      );
      return { ...view, pods: metrics.flat() };
    } catch (e) {
      const reason = skippable(e, server);
      const note = reason === "HTTP 404" ? NO_METRICS_SERVER : `metrics-server did not answer (${reason}): pod CPU/memory usage is not available`;
      return { ...view, pods: null, metricsNote: note };
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
