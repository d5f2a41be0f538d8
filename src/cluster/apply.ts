// Server-side apply in stages, after fluxcd/pkg/ssa: cluster definitions first (CRDs,
// Gatekeeper ConstraintTemplates, Namespaces, ClusterRoles), wait until new CRDs are
// established (a template's constraint CRD is made by Gatekeeper), then the objects that
// guard a namespace (quota, limits, identities, network policies), then everything else.
// The guard stage matters: a pod created before its namespace's LimitRange exists gets no
// defaults, and the API server's LimitRanger caches that empty answer for up to 30 s.
// Field manager `tenantry`. Every object of a stage is attempted; the refusals of a stage
// are reported together and stop the later stages.

import { type Cancellation, mapLimit } from "../concurrency.js";
import { ExitCode, TenantryError } from "../errors.js";
import { describeObject, type KubeObject } from "../model/object.js";
import type { KubeAccess } from "./access.js";
import { RestClient } from "./rest.js";
import { apiRefusal, type ApiRefusal, unreachable } from "./api-errors.js";
import { type LiveScope, unchangedObjects } from "./live.js";
import { type ManagedField, takeOver } from "./takeover.js";

export const FIELD_MANAGER = "tenantry";

const DEFINITION_KINDS = new Set(["CustomResourceDefinition", "ConstraintTemplate", "Namespace", "ClusterRole"]);
const GUARD_KINDS = new Set(["ResourceQuota", "LimitRange", "ServiceAccount", "Role", "RoleBinding", "ClusterRoleBinding", "NetworkPolicy"]);

/** 0: cluster definitions others depend on; 1: what guards a namespace; 2: the rest. */
export function applyStage(o: Pick<KubeObject, "kind">): number {
  if (DEFINITION_KINDS.has(o.kind)) return 0;
  return GUARD_KINDS.has(o.kind) ? 1 : 2;
}

export interface ApplyOptions {
  readonly fieldManager?: string;
  /** Take over fields another manager owns (only for objects tenantry owns). */
  readonly force?: boolean;
  /** Server-side dry run: admission and validation run, nothing is stored. */
  readonly dryRun?: boolean;
  readonly concurrency?: number;
  /** How long to wait for a new CRD to be established. */
  readonly crdTimeoutMs?: number;
  /**
   * Skip the objects whose live state (listed per kind in this scope) already holds every
   * desired field and no field tenantry owns beyond them (src/cluster/unchanged.ts).
   */
  readonly skipUnchanged?: LiveScope;
  /** Checked before every write and wait: a cancelled apply starts nothing more (see concurrency.ts). */
  readonly cancel?: Cancellation | undefined;
}

export interface ApplySummary {
  /** Objects sent with server-side apply. */
  readonly applied: number;
  /** Objects skipped because the cluster already holds them as desired. */
  readonly unchanged: number;
}

export interface Refused {
  readonly object: string;
  /** The refused object's namespace (none for cluster-scoped objects). */
  readonly namespace?: string | undefined;
  readonly refusal: ApiRefusal;
}

export class ApplyError extends TenantryError {
  override readonly name = "ApplyError";
  constructor(
    readonly refused: readonly Refused[],
    /**
     * The objects certainly not applied: those the API server refused outright (4xx, but a
     * 408 or 429: an answer that may come from a proxy after the server did the work, like
     * any 5xx), and those of the stages after (never sent).
     */
    readonly unapplied: readonly KubeObject[] = [],
  ) {
    super(refused.map((r) => `${r.object}: ${r.refusal.message} (HTTP ${r.refusal.code})`).join("\n"), ExitCode.external);
  }
}

/** A CRD the stage waits for, and what to say when it does not come. */
interface Awaited {
  readonly name: string;
  /** The kinds it serves: discovery lists them a moment after the CRD is established. */
  readonly serves: readonly { apiVersion: string; kind: string }[];
  readonly late: string;
}

/** The CRDs a stage defines: its own, and the constraint CRD Gatekeeper makes for each ConstraintTemplate. */
function definedCrds(stage: readonly KubeObject[]): Awaited[] {
  const out: Awaited[] = [];
  for (const o of stage) {
    if (o.kind === "CustomResourceDefinition") out.push({ name: o.metadata.name, serves: servedKinds(o), late: `CustomResourceDefinition ${o.metadata.name} was not established` });
    const kind = o.kind === "ConstraintTemplate" && o.apiVersion.startsWith("templates.gatekeeper.sh/") ? constraintKind(o) : undefined;
    if (kind !== undefined) {
      out.push({ name: `${kind.toLowerCase()}.constraints.gatekeeper.sh`, serves: [{ apiVersion: "constraints.gatekeeper.sh/v1beta1", kind }], late: `Gatekeeper did not make constraint kind ${kind} of ConstraintTemplate ${o.metadata.name}: is Gatekeeper's manager running (kubectl -n gatekeeper-system get pods), and does the template compile (tenantry validate)?` });
    }
  }
  return out;
}

/** The apiVersions and kind a CRD serves. */
function servedKinds(crd: KubeObject): { apiVersion: string; kind: string }[] {
  const spec = (crd as { spec?: { group?: unknown; names?: { kind?: unknown }; versions?: { name?: unknown; served?: unknown }[] } }).spec;
  const kind = spec?.names?.kind;
  if (typeof spec?.group !== "string" || typeof kind !== "string") return [];
  const group = spec.group;
  return (spec.versions ?? []).filter((v) => typeof v.name === "string" && v.served !== false).map((v) => ({ apiVersion: `${group}/${String(v.name)}`, kind }));
}

function constraintKind(template: KubeObject): string | undefined {
  const kind = (template as { spec?: { crd?: { spec?: { names?: { kind?: unknown } } } } }).spec?.crd?.spec?.names?.kind;
  return typeof kind === "string" && kind !== "" ? kind : undefined;
}

async function waitEstablished(api: RestClient, crds: readonly Awaited[], timeoutMs: number, cancel: Cancellation | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const { name, serves, late } of crds) {
    for (;;) {
      const crd = await api.readObject({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name } }).catch((e: unknown) => {
        if (apiRefusal(e)?.code === 404) return null; // Gatekeeper has not made it yet
        throw e;
      });
      const conditions = (crd as { status?: { conditions?: { type: string; status: string }[] } } | null)?.status?.conditions ?? [];
      if (conditions.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new TenantryError(`${late} within ${timeoutMs} ms`, ExitCode.external);
      await new Promise((r) => setTimeout(r, 100));
      cancel?.check();
    }
    // Established is not yet served: the API server's discovery lists the kind a moment later,
    // and the next stage looks its objects up there.
    for (const k of serves) {
      while (!(await api.serves(k.apiVersion, k.kind))) {
        if (Date.now() > deadline) throw new TenantryError(`${late} (established, not yet in discovery as ${k.apiVersion} ${k.kind}) within ${timeoutMs} ms`, ExitCode.external);
        await new Promise((r) => setTimeout(r, 100));
        cancel?.check();
      }
    }
  }
}

/** Refusals for the kinds in `objects` that the cluster does not serve (a CRD is missing). */
async function unservedKinds(api: RestClient, objects: readonly KubeObject[]): Promise<Refused[]> {
  const kinds = [...new Map(objects.map((o) => [`${o.apiVersion} ${o.kind}`, o])).values()];
  const refused: Refused[] = [];
  for (const k of kinds) {
    if (await api.serves(k.apiVersion, k.kind)) continue;
    for (const o of objects.filter((x) => x.apiVersion === k.apiVersion && x.kind === k.kind)) {
      const message = `the cluster does not serve ${k.kind} in ${k.apiVersion}: install its CustomResourceDefinition (or the controller that provides it) first`;
      refused.push({ object: describeObject(o), namespace: o.metadata.namespace, refusal: { code: 404, reason: "NotFound", message } });
    }
  }
  return refused;
}

/**
 * When hand edits own fields of an object tenantry owns, hands them to tenantry (takeover.ts)
 * and applies again, so what Git does not have is removed. A conflict (the object changed
 * meanwhile) leaves it to the next reconcile.
 */
async function repairDrift(api: RestClient, desired: KubeObject, stored: KubeObject, fieldManager: string, cancel: Cancellation | undefined): Promise<void> {
  const managed = takeOver((stored.metadata.managedFields ?? []) as ManagedField[], fieldManager, desired.apiVersion);
  if (managed === undefined) return;
  cancel?.check();
  try {
    await api.jsonPatch(stored, [
      { op: "test", path: "/metadata/resourceVersion", value: stored.metadata.resourceVersion },
      { op: "replace", path: "/metadata/managedFields", value: managed },
    ]);
  } catch (e) {
    if (apiRefusal(e)?.code === 409 || apiRefusal(e)?.code === 422) return;
    throw e;
  }
  cancel?.check();
  await api.apply(desired, { fieldManager, force: true });
}

/** Applies `objects` with server-side apply, in stages; the stored objects are not kept. */
export async function applyObjects(kc: KubeAccess, objects: readonly KubeObject[], opts: ApplyOptions = {}): Promise<ApplySummary> {
  const api = RestClient.forConfig(kc);
  const server = kc.cluster.server;
  const fieldManager = opts.fieldManager ?? FIELD_MANAGER;
  const skip = opts.skipUnchanged === undefined || opts.dryRun === true ? new Set<number>() : await unchangedObjects(api, objects, opts.skipUnchanged, fieldManager);
  const stages = [0, 1, 2].map((s) => objects.filter((o, i) => applyStage(o) === s && !skip.has(i)));
  let applied = 0;
  for (const [s, stage] of stages.entries()) {
    const later = stages.slice(s + 1).flat();
    const refused: Refused[] = await unservedKinds(api, stage).catch((e: unknown) => {
      throw unreachable(e, server) ?? e;
    });
    if (refused.length > 0) throw new ApplyError(refused, [...stage, ...later]);
    const refusedObjects: KubeObject[] = [];
    await mapLimit(stage, opts.concurrency ?? 16, async (o): Promise<void> => {
      opts.cancel?.check();
      try {
        const stored = await api.apply(o, { fieldManager, force: opts.force ?? false, dryRun: opts.dryRun ?? false });
        if (opts.force === true && opts.dryRun !== true) await repairDrift(api, o, stored, fieldManager, opts.cancel);
        applied++;
      } catch (e) {
        const refusal = apiRefusal(e);
        if (refusal === undefined) throw unreachable(e, server) ?? e;
        refused.push({ object: describeObject(o), namespace: o.metadata.namespace, refusal });
        if (refusal.code >= 400 && refusal.code < 500 && refusal.code !== 408 && refusal.code !== 429) refusedObjects.push(o);
      }
    });
    if (refused.length > 0) throw new ApplyError(refused, [...refusedObjects, ...later]);
    const crds = definedCrds(stage);
    if (crds.length > 0 && opts.dryRun !== true) await waitEstablished(api, crds, opts.crdTimeoutMs ?? 30_000, opts.cancel);
  }
  return { applied, unchanged: skip.size };
}
