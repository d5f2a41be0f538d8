// Validation of the free-form values a user passes: Git URLs, registry prefixes, quantities,
// CODEOWNERS owners, node-pool selectors. Each returns a list of problems ([] when valid).

import { labelKeyProblems, labelValueProblems } from "./names.js";

const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$/;

/** A Git remote the reconciler can fetch: https://, ssh://, scp-like user@host:path, or file://. */
export function gitUrlProblems(what: string, url: string): string[] {
  const fix = `${what} "${url}" is not a Git URL tenantry can fetch: use https://host/org/repo.git, ssh://git@host/org/repo.git, git@host:org/repo.git or file:///path/repo.git (http:// only on 127.0.0.1)`;
  if (/\s/.test(url) || url.length === 0) return [fix];
  if (SCP_LIKE.test(url)) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [fix];
  }
  if (parsed.protocol === "file:") return parsed.pathname.length > 1 ? [] : [fix];
  // Plain HTTP only on this machine (the demo's local git server under the flux engine, whose
  // GitRepository takes no file:// URL): anywhere else a fetch without TLS can be tampered with.
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol !== "https:" && parsed.protocol !== "ssh:" && !(parsed.protocol === "http:" && loopback)) return [fix];
  if (parsed.hostname === "" || parsed.pathname.length <= 1) return [fix];
  if (parsed.password !== "") {
    return [`${what} carries a password: never put credentials in a URL, tenantry reads them from a Secret`];
  }
  return [];
}

const REGISTRY_PREFIX = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9._/-]*)?$/;

/** An image registry prefix such as `ghcr.io/acme/` or `registry.k8s.io/`. */
export function registryProblems(what: string, prefix: string): string[] {
  if (prefix.includes("://") || !REGISTRY_PREFIX.test(prefix) || !prefix.includes(".")) {
    return [
      `${what} "${prefix}" is not an image registry prefix: use a host and optional path such as "ghcr.io/acme/"`,
    ];
  }
  if (!prefix.includes("/")) {
    return [`${what} "${prefix}" must end with '/' so that "${prefix}.evil.com/x" cannot match: use "${prefix}/"`];
  }
  return [];
}

const QUANTITY = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

/** A Kubernetes resource quantity such as `500m`, `2`, `4Gi`. */
export function quantityProblems(what: string, value: string): string[] {
  return QUANTITY.test(value) ? [] : [`${what} "${value}" is not a Kubernetes quantity: use e.g. "500m", "2" or "4Gi"`];
}

const OWNER = /^(@[A-Za-z0-9-]+(\/[A-Za-z0-9._-]+)?|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$/;

/** A CODEOWNERS owner: @user, @org/team or an e-mail address. */
export function ownerProblems(what: string, owner: string): string[] {
  return OWNER.test(owner) ? [] : [`${what} "${owner}" is not a CODEOWNERS owner: use @org/team, @user or an e-mail address`];
}

export interface NodePool {
  readonly key: string;
  readonly value: string;
}

/** Parses `label=value` for --node-pool. */
export function parseNodePool(what: string, text: string): { pool?: NodePool; problems: string[] } {
  const eq = text.indexOf("=");
  if (eq <= 0) {
    return { problems: [`${what} "${text}" is not label=value: use e.g. "tenantry.dev/pool=team1"`] };
  }
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  const problems = [...labelKeyProblems(what, key), ...labelValueProblems(what, value)];
  if (value === "") problems.push(`${what} "${text}" has an empty value: use e.g. "${key}=team1"`);
  return problems.length > 0 ? { problems } : { pool: { key, value }, problems };
}
