// One interface for every place a deploy key can be registered: GitHub, GitLab, Gitea (HTTP
// APIs) and a plain SSH git server (an authorized_keys file). Adapters only list, add and
// remove; what is ours, idempotence and rollback are decided in keys/register.ts.

import { ExitCode, TenantryError } from "../../errors.js";

export const HOST_KINDS = ["github", "gitlab", "gitea", "ssh"] as const;
export type HostKind = (typeof HOST_KINDS)[number];

export interface DeployKey {
  /** The host's id for the key (the fingerprint for `ssh`). */
  readonly id: string;
  readonly title: string;
  /** `type base64` as the host returned it. */
  readonly key: string;
  /** SHA256 fingerprint computed from `key` ("" when the host returned something unparsable). */
  readonly fingerprint: string;
  readonly readOnly: boolean;
}

/** Where to register: as given on the command line (defaults filled in by hosts/index.ts). */
export interface HostSpec {
  readonly kind: HostKind;
  /** owner/name (forges) or the repo's path on the server (ssh); default: from the repo URL. */
  readonly repo?: string | undefined;
  readonly apiUrl?: string | undefined;
  /** `ssh`: the git user's authorized_keys. */
  readonly authorizedKeys?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface HostAdapter {
  readonly kind: HostKind;
  /** What to print: `github acme/team1`, `ssh /srv/git/.ssh/authorized_keys`. */
  readonly where: string;
  /** The spec with every default resolved: what rotate and revoke need to find the host again. */
  readonly spec: HostSpec & { readonly repo: string };
  list(): Promise<DeployKey[]>;
  /** Adds `key` read-only; the key as the host now has it. */
  add(title: string, key: string): Promise<DeployKey>;
  remove(key: DeployKey): Promise<void>;
}

/** The Git host failed or refused: one line with what and how to fix it. */
export class HostError extends TenantryError {
  override readonly name: string = "HostError";
  constructor(message: string) {
    super(message, ExitCode.external);
  }
}

/** The host refuses the key because it is registered elsewhere (another repo, a user). */
export class KeyInUseError extends HostError {
  override readonly name = "KeyInUseError";
}

/** The host refuses a second key with the same title (Gitea). */
export class TitleTakenError extends HostError {
  override readonly name = "TitleTakenError";
}
