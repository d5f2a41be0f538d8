// Leader election with a coordination.k8s.io Lease, so two agents never apply at once.
// The decision is pure (canAcquire); the I/O uses optimistic concurrency: an update with a
// stale resourceVersion fails with 409 and the other replica wins.

import type { KubeAccess } from "../cluster/access.js";
import { RestClient } from "../cluster/rest.js";
import { apiRefusal } from "../cluster/api-errors.js";
import type { KubeObject } from "../model/object.js";

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Whether `me` may take or keep the lease at `now`. */
export function canAcquire(spec: LeaseSpec | undefined, me: string, now: number): boolean {
  if (spec?.holderIdentity === undefined || spec.holderIdentity === "" || spec.holderIdentity === me) return true;
  const renewed = spec.renewTime === undefined ? 0 : Date.parse(spec.renewTime);
  return renewed + (spec.leaseDurationSeconds ?? 15) * 1000 < now;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  private leading = false;

  constructor(
    private readonly kc: KubeAccess,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    private readonly durationSeconds = 15,
  ) {}

  isLeader(): boolean {
    return this.leading;
  }

  /** One attempt to acquire or renew; returns whether this replica leads afterwards. */
  async tryAcquireOrRenew(now = Date.now()): Promise<boolean> {
    const client = RestClient.forConfig(this.kc);
    const header = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.name, namespace: this.namespace } };
    let current: (KubeObject & { spec?: LeaseSpec }) | undefined;
    try {
      current = (await client.readObject(header));
    } catch (e) {
      if (apiRefusal(e)?.code !== 404) throw e;
    }
    if (!canAcquire(current?.spec, this.identity, now)) {
      this.leading = false;
      return false;
    }
    const taking = current?.spec?.holderIdentity !== this.identity;
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.durationSeconds,
      renewTime: microTime(now),
      acquireTime: taking ? microTime(now) : current?.spec?.acquireTime ?? microTime(now),
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (taking && current !== undefined ? 1 : 0),
    };
    try {
      if (current === undefined) await client.createObject({ ...header, spec });
      else await client.replaceObject({ ...header, metadata: { ...header.metadata, resourceVersion: current.metadata.resourceVersion }, spec });
      this.leading = true;
    } catch (e) {
      const code = apiRefusal(e)?.code;
      if (code !== 409 && code !== 422) throw e;
      this.leading = false;
    }
    return this.leading;
  }

  /** Gives the lease up (on shutdown) so another replica can take over at once. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    const client = RestClient.forConfig(this.kc);
    const header = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.name, namespace: this.namespace } };
    const current: (KubeObject & { spec?: LeaseSpec }) | undefined = await client.readObject(header).catch(() => undefined);
    if (current?.spec?.holderIdentity !== this.identity) return;
    await client
      .replaceObject({ ...header, metadata: { ...header.metadata, resourceVersion: current.metadata.resourceVersion }, spec: { ...current.spec, holderIdentity: "", leaseDurationSeconds: 1 } })
      .catch(() => undefined);
  }
}
