// `tenantry keys known-hosts`: pins a Git host's keys into the deploy-key Secret's
// known_hosts (the Secret is created with only known_hosts when no key exists yet, so the
// two commands can run in either order).

import type { KubeAccess } from "../cluster/access.js";
import { readFileSync } from "node:fs";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { entriesFor, type HostKeyEntry, hostKeysFromText, hostPattern, hostProblems, isChange, mergeKnownHosts, parseKnownHosts, scanHostKeys } from "./known-hosts.js";
import { KeyStore } from "./secret.js";
import type { KeyTarget } from "./target.js";

export interface PinOptions {
  readonly host: string;
  readonly port: number;
  /** A known_hosts file to take the keys from instead of scanning. */
  readonly from?: string | undefined;
  readonly force: boolean;
  /** null: only report the keys (no Secret). */
  readonly into: { readonly kc: KubeAccess; readonly target: KeyTarget } | null;
}

export interface PinResult {
  readonly pattern: string;
  readonly pinned: readonly HostKeyEntry[];
  /** Keys for this host that were pinned before and are not any more. */
  readonly dropped: readonly HostKeyEntry[];
  readonly secret: string | null;
}

export async function pinHostKeys(opts: PinOptions): Promise<PinResult> {
  const problems = hostProblems(opts.host, opts.port);
  if (problems.length > 0) throw new ValidationError(problems);
  const pattern = hostPattern(opts.host, opts.port);
  let keys: HostKeyEntry[];
  if (opts.from !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.from, "utf8");
    } catch (e) {
      throw new ValidationError([`--from ${opts.from}: ${(e as Error).message}`]);
    }
    keys = hostKeysFromText(text, opts.from, opts.host, opts.port);
  } else {
    keys = await scanHostKeys(opts.host, opts.port);
  }
  if (opts.into === null) return { pattern, pinned: keys, dropped: [], secret: null };

  const { kc, target } = opts.into;
  const store = new KeyStore(kc);
  const secret = await store.read(target);
  const existing = secret?.knownHosts ?? "";
  const before = entriesFor(parseKnownHosts(existing, "known_hosts").entries, pattern);
  if (isChange(before, keys) && !opts.force) {
    throw new TenantryError(
      `the host key of ${pattern} changed: pinned ${before.map((e) => e.fingerprint).join(", ")}, now ${keys.map((e) => e.fingerprint).join(", ")}: ` +
        "if the change is expected, check the new fingerprint with the host's operator and run again with --force",
      ExitCode.invalid,
    );
  }
  const text = mergeKnownHosts(existing, pattern, keys);
  if (text !== existing) {
    await store.write(target, { ...(secret ?? { annotations: {} }), knownHosts: text });
  }
  const dropped = before.filter((b) => !keys.some((k) => k.fingerprint === b.fingerprint));
  return { pattern, pinned: keys, dropped, secret: `${target.namespace}/${target.secretName}` };
}
