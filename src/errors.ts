// Typed errors: commands throw these; the CLI's single top-level catch prints one line
// and maps the error to its exit code (documented in docs/cli.md).

export const ExitCode = {
  ok: 0,
  /**
   * Something failed at run time: a file could not be written (read-only, no permission,
   * disk full), a port is taken, a repo is in a bad state, the cluster lacks tenantry's CRD,
   * a reconcile did not end Ready.
   */
  failure: 1,
  /**
   * The input is wrong: bad name, bad flag or option value, malformed tenantry.yaml, a path
   * of the wrong kind (a file where a directory belongs), a bad kubeconfig. Nothing was changed.
   */
  invalid: 2,
  /** `tenantry plan`: the plan carries risk flags. */
  risk: 3,
  /** `tenantry import`: the repo was written, but something of the source could not be mapped (the report lists it). */
  notMapped: 3,
  /**
   * An outside program or service failed: kustomize, git, a Git host, the API server (not
   * reachable, an untrusted/expired/misnamed certificate, 401, 403, or any other refusal).
   */
  external: 4,
  /** A bug in tenantry: an error it did not expect (sysexits' EX_SOFTWARE). */
  internal: 70,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class TenantryError extends Error {
  override readonly name: string = "TenantryError";
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
  ) {
    super(message);
  }
}

/** One or more problems with the user's input, all reported at once. */
export class ValidationError extends TenantryError {
  override readonly name = "ValidationError";
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"), ExitCode.invalid);
  }
}

/** An outside program (kustomize, git, go) failed or is missing. */
export class ToolError extends TenantryError {
  override readonly name = "ToolError";
  constructor(message: string) {
    super(message, ExitCode.external);
  }
}

/** What Node's system errors carry (fs, net, dns). */
interface SystemError {
  readonly code?: unknown;
  readonly syscall?: unknown;
  readonly path?: unknown;
  readonly dest?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * A path of the wrong kind (a file where a directory belongs, a directory where a file
 * belongs, missing, looping): the input is wrong. Reported before anything is written by
 * the commands that validate first.
 */
export class PathError extends TenantryError {
  override readonly name = "PathError";
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message, ExitCode.invalid);
  }
}

/** A file or directory could not be written: read-only file system, no permission, disk full. */
export class WriteError extends TenantryError {
  override readonly name = "WriteError";
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message, ExitCode.failure);
  }
}

/** The deepest existing ancestor of `path` that is not a directory (what ENOTDIR is about), or `path`. */
function fileInTheWay(path: string, isDirectory: (p: string) => boolean | undefined): string {
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i + 1).join("/");
    if (prefix === "") continue;
    const dir = isDirectory(prefix);
    if (dir === undefined) return path;
    if (!dir) return prefix;
  }
  return path;
}

/** What a syscall was doing, in words. */
const VERBS: Readonly<Record<string, string>> = {
  open: "open",
  read: "read",
  write: "write",
  mkdir: "create the directory",
  mkdtemp: "create a directory in",
  rename: "rename",
  unlink: "remove",
  rmdir: "remove",
  rm: "remove",
  scandir: "list",
  copyfile: "copy",
  chmod: "change the mode of",
  symlink: "create the link",
  access: "use",
};

/** A file-system error whose path Node did not record (a read of an open descriptor). */
function pathless(code: string, syscall: string): TenantryError | undefined {
  const op = syscall === "" ? "" : ` (${syscall})`;
  switch (code) {
    case "EISDIR":
      return new PathError(`a directory was read where a file was expected (EISDIR${op}): check the files the command reads (tenantry.yaml, kustomization.yaml, team.yaml) and restore them with git`, "");
    case "EROFS":
    case "EACCES":
    case "EPERM":
    case "ENOSPC":
    case "EDQUOT":
      return new WriteError(`a file could not be written (${code}${op}): check that the directory is writable, by this user, with space left`, "");
    default:
      return undefined;
  }
}

/**
 * A system error that reached the top (fs, listen, DNS) as one line naming the path or
 * address and the fix; undefined for anything else. `isDirectory` answers for an existing
 * path (undefined when it does not exist).
 */
export function systemFailure(e: unknown, isDirectory: (p: string) => boolean | undefined): TenantryError | undefined {
  if (!(e instanceof Error) || e instanceof TenantryError) return undefined;
  const err = e as Error & SystemError;
  const code = str(err.code);
  const syscall = str(err.syscall) ?? "";
  if (code === undefined) return undefined;
  if (syscall === "listen" || syscall === "bind") {
    const where = typeof err.port === "number" ? `${str(err.address) ?? "*"}:${String(err.port)}` : (str(err.address) ?? "the address");
    if (code === "EADDRINUSE") return new TenantryError(`cannot listen on ${where}: another program uses that port: choose another --port or --metrics-port, or stop that program`, ExitCode.failure);
    if (code === "EACCES" || code === "EPERM") return new TenantryError(`cannot listen on ${where}: ports below 1024 need privileges: choose a port of 1024 or more`, ExitCode.failure);
    if (code === "EADDRNOTAVAIL") return new TenantryError(`cannot listen on ${where}: no interface of this machine has that address: give one of its addresses with --host, or leave --host out`, ExitCode.invalid);
    return new TenantryError(`cannot listen on ${where} (${code}): check --host and the ports`, ExitCode.failure);
  }
  if (syscall === "getaddrinfo" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    const host = str(err.hostname) ?? "a host name";
    return new TenantryError(`${host} does not resolve (${code}): check the host name (--host, the kubeconfig's server, a URL) and this machine's DNS`, code === "EAI_AGAIN" ? ExitCode.external : ExitCode.invalid);
  }
  if (syscall.startsWith("spawn") && code === "ENOENT") {
    const program = str(err.path) ?? syscall.slice("spawn ".length);
    return new TenantryError(`${program} is not installed or not on PATH: install it (scripts/install-tools.sh installs the tools tenantry runs)`, ExitCode.external);
  }
  const raw = str(err.path);
  if (raw === undefined) return pathless(code, syscall);
  // mkdtemp names its template (dir/.tenantry-staging-XXXXXX): the directory is what matters.
  const path = syscall === "mkdtemp" ? raw.replace(/\/[^/]*$/, "") || "/" : raw;
  const dest = str(err.dest);
  switch (code) {
    case "ENOTDIR": {
      const file = fileInTheWay(path, isDirectory);
      return new PathError(`${file} is a file where a directory was expected: move it away, or restore the directory (git checkout -- <path> in a repo)`, file);
    }
    case "EISDIR":
      return new PathError(`${path} is a directory where a file was expected: move it away, or restore the file (git checkout -- <path> in a repo)`, path);
    case "EEXIST":
      if (syscall === "mkdir" && isDirectory(path) === false) return new PathError(`${path} is a file where a directory was expected: move it away, or choose another path`, path);
      return new PathError(`${dest ?? path} exists already: move it away, or choose another path`, dest ?? path);
    case "ENOENT":
      return new PathError(`${path} does not exist (${syscall === "" ? "needed" : syscall}): check the path, or restore it (git checkout -- <path> in a repo)`, path);
    case "ELOOP":
      return new PathError(`${path} is a symbolic link loop: fix or remove the link`, path);
    case "ENAMETOOLONG":
      return new PathError(`a path is too long for the file system (${path.slice(0, 80)}…): use a shorter name or directory`, path);
    case "EROFS":
      return new WriteError(`cannot write ${path}: it is on a read-only file system: run tenantry where the directory is writable (or remount it read-write)`, path);
    case "EACCES":
    case "EPERM":
      return new WriteError(`permission denied: cannot ${VERBS[syscall] ?? "use"} ${path}: make it writable (and readable) by this user, or run as its owner`, path);
    case "ENOSPC":
    case "EDQUOT":
      return new WriteError(`cannot write ${path}: no space left on the device (or the quota is used up): free some space and run again`, path);
    case "EMFILE":
    case "ENFILE":
      return new WriteError(`too many open files while opening ${path}: raise the limit (ulimit -n) and run again`, path);
    default:
      return undefined;
  }
}
