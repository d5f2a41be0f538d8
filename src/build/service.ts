// The client of the build service (tools/build, `tenantry-build`): every kustomize build goes
// through here. A small pool of long-lived helper processes serves builds over their stdin
// and stdout (Flux's secure build holds a lock, so one build a process at a time); a process
// that overruns its time, or whose caller gives up, is killed and replaced, so a timeout
// cancels the work instead of only stopping the wait.
//
// The helpers run with no git on PATH, a HOME of their own without .netrc or git config, and
// every proxy variable pointing at a closed port: even a build that slipped past the helper's
// own refusals would have nothing to fetch with.

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ExitCode, TenantryError } from "../errors.js";
import { findBinary } from "../toolchain.js";

/** Why a build did not produce objects (the GitSync condition's reason). */
export type BuildReason = "RemoteBaseRefused" | "OutsideCheckout" | "CheckoutTooLarge" | "RenderTooLarge" | "BuildFailed" | "DecryptionFailed" | "PlainSecretRefused" | "EncryptFailed" | "NotEncrypted" | "BuildTimeout" | "BadRequest";

/** A file the build reads and what is wrong with it (root-relative). */
export interface BuildProblem {
  readonly file: string;
  readonly message: string;
}

/** A build that was refused or failed; the message names the files and entries. */
export class BuildError extends TenantryError {
  override readonly name = "BuildError";
  constructor(
    readonly reason: BuildReason,
    message: string,
    /** Each file and its problem, when the service refused the build before running it. */
    readonly problems: readonly BuildProblem[] = [],
  ) {
    super(message, reason === "BadRequest" ? ExitCode.failure : ExitCode.external);
  }
}

type Format = "yaml" | "json";

export interface BuildRequest {
  /** The checkout: nothing outside it is read. */
  readonly root: string;
  /** The kustomization to build, relative to root. */
  readonly dir: string;
  /** Annotate objects with the file they came from (config.kubernetes.io/origin, relative to dir). */
  readonly origin?: boolean;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Bounds other than the defaults (LIMITS); 0 means none. */
  readonly limits?: { readonly checkoutBytes?: number; readonly renderBytes?: number };
  /**
   * Files laid over the checkout in memory, by root-relative path: the build reads these from
   * the request, everything else from root (tools/build overlay.go). For tenantry's own render
   * of an overlay not yet written (create-team --from); the size bound counts the disk only.
   */
  readonly files?: ReadonlyMap<string, string>;
  /**
   * The age identities (a `.agekey` text) that decrypt the SOPS files the build reads: the
   * build then runs in tenantry-build-sops, the identities cross its stdin and nothing else.
   */
  readonly ageIdentities?: string;
  /** A v1 Secret of the render with a value no SOPS file kept encrypted refuses the build (PlainSecretRefused). */
  readonly refusePlainSecrets?: boolean;
  /**
   * validate's build: SOPS files are read with every encrypted value a placeholder, never
   * decrypted, by tenantry-build-sops (no identities).
   */
  readonly sopsPassthrough?: boolean;
}

/**
 * Bounds every build: a checkout or render past them is refused, not built; a build past the
 * time is stopped; a helper past the memory (its address space) dies and is replaced.
 */
export const LIMITS = { checkoutBytes: 256 * 1024 * 1024, renderBytes: 64 * 1024 * 1024, timeoutMs: 120_000, memoryBytes: 2 * 1024 * 1024 * 1024 } as const;

/**
 * The render limit of a GitSync with spec.kubeConfig (a team on its own control plane): the
 * system agent (cluster-admin, 512Mi) parses that team's render, and parsed objects take
 * ~80x their YAML (10 MB of small ConfigMaps is ~850 MB of RSS); 4 MiB is far beyond what a
 * team's overlay renders.
 */
export const REMOTE_RENDER_BYTES = 4 * 1024 * 1024;

interface Reply {
  readonly id: number;
  readonly yaml?: string;
  readonly objects?: unknown[];
  readonly bytes?: number;
  readonly reason?: BuildReason;
  readonly error?: string;
  readonly problems?: BuildProblem[];
  /** op age-keygen's answer. */
  readonly identity?: string;
  readonly recipient?: string;
  /** op encrypt's answer. */
  readonly text?: string;
}

/** One request to a helper: its fields (the id is added), how messages name it, its bounds. */
interface Job {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly what: string;
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

interface Pending {
  readonly id: number;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (e: Error) => void;
}

let home: string | undefined;

const HOME_PREFIX = "tenantry-build-home-";

/** Whether process `pid` is alive (EPERM: alive, someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The helper's empty home: one per process, named after it, removed when the process exits;
 * the homes of processes that died without exiting (SIGKILL) are removed by the next one.
 */
function sandboxHome(): string {
  if (home !== undefined) return home;
  const dir = tmpdir();
  try {
    for (const name of readdirSync(dir)) {
      const pid = new RegExp(`^${HOME_PREFIX}(\\d+)-`).exec(name)?.[1];
      if (pid !== undefined && Number(pid) !== process.pid && !alive(Number(pid))) rmSync(join(dir, name), { recursive: true, force: true });
    }
  } catch {
    // a temp dir we cannot list or clean is no reason not to build
  }
  const made = mkdtempSync(join(dir, `${HOME_PREFIX}${String(process.pid)}-`));
  process.once("exit", () => {
    rmSync(made, { recursive: true, force: true });
  });
  home = made;
  return made;
}

/** The helper's environment: nothing to fetch with, nowhere to fetch from. */
function sandboxEnv(): NodeJS.ProcessEnv {
  home = sandboxHome();
  const nowhere = "http://127.0.0.1:9";
  return {
    PATH: "",
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    HTTP_PROXY: nowhere,
    HTTPS_PROXY: nowhere,
    ALL_PROXY: nowhere,
    http_proxy: nowhere,
    https_proxy: nowhere,
    all_proxy: nowhere,
    NO_PROXY: "",
    no_proxy: "",
    GOMEMLIMIT: "1GiB",
  };
}

/** One helper process and the build it is running. */
class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private current: Pending | undefined;
  private stderr = "";
  dead = false;

  constructor(
    file: string,
    private readonly pool: Pool,
  ) {
    this.child = spawn(file, ["--max-memory", String(LIMITS.memoryBytes)], { env: sandboxEnv(), stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.on("data", (c: Buffer) => {
      // tenantry-build-sops's output is never kept: a crash could print what it decrypted.
      if (!pool.secret) this.stderr = (this.stderr + c.toString("utf8")).slice(-4096);
    });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const p = this.current;
      this.current = undefined;
      this.idle();
      if (p === undefined) return;
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        p.reject(new BuildError("BuildFailed", `the build service answered something unreadable (${String(line.length)} bytes)`));
        return;
      }
      if (reply.reason !== undefined || reply.error !== undefined) p.reject(new BuildError(reply.reason ?? "BuildFailed", reply.error ?? "the build failed", reply.problems ?? []));
      else p.resolve(reply.objects !== undefined && reply.bytes === undefined ? { ...reply, bytes: line.length } : reply);
      pool.next();
    });
    this.child.on("error", (e) => {
      this.fail(new BuildError("BuildFailed", `the build service could not run: ${e.message}`));
    });
    this.child.on("exit", (code, signal) => {
      const why = signal === null ? `exit ${String(code)}` : signal;
      this.fail(new BuildError("BuildFailed", `the build service stopped (${why})${this.stderr === "" ? "" : `: ${this.stderr.trim().split("\n").slice(-1)[0] ?? ""}`}`));
    });
    this.idle();
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = true;
    const p = this.current;
    this.current = undefined;
    p?.reject(e);
    this.pool.forget(this);
  }

  /** Nothing to wait for: the process no longer keeps the CLI alive. */
  private idle(): void {
    this.child.unref();
    for (const s of this.pipes()) s.unref();
  }

  private active(): void {
    this.child.ref();
    for (const s of this.pipes()) s.ref();
  }

  /** The child's pipes: sockets, which hold the event loop while referenced. */
  private pipes(): Socket[] {
    return [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Socket[];
  }

  run(id: number, job: Job, p: Pending): void {
    this.current = p;
    this.active();
    const limit = job.timeoutMs ?? LIMITS.timeoutMs;
    const timer = setTimeout(() => {
      this.kill(new BuildError("BuildTimeout", `${job.what} took longer than ${String(Math.round(limit / 1000))} s: it was stopped`));
    }, limit);
    const onAbort = (): void => {
      this.kill(new BuildError("BuildTimeout", `${job.what} was cancelled`));
    };
    job.signal?.addEventListener("abort", onAbort, { once: true });
    const settle = <T>(f: (v: T) => void) => (v: T): void => {
      clearTimeout(timer);
      job.signal?.removeEventListener("abort", onAbort);
      f(v);
    };
    this.current = { id, resolve: settle(p.resolve), reject: settle(p.reject) };
    this.child.stdin.write(`${JSON.stringify({ id, ...job.fields })}\n`);
  }

  /** Stops the process now: its build, if any, ends with `e`. */
  kill(e: Error): void {
    const p = this.current;
    this.current = undefined;
    this.dead = true;
    this.pool.forget(this);
    this.child.kill("SIGKILL");
    p?.reject(e);
  }
}

/** The helpers of one binary and the requests waiting for one. */
class Pool {
  private readonly workers = new Set<Worker>();
  private readonly queue: { job: Job; p: Pending }[] = [];
  private ids = 0;

  constructor(
    private readonly tool: "build" | "build-sops",
    private readonly size: number,
  ) {}

  /** Whether this pool's helpers decrypt: nothing they print is kept. */
  get secret(): boolean {
    return this.tool === "build-sops";
  }

  send(job: Job): Promise<Reply> {
    if (job.signal?.aborted === true) return Promise.reject(new BuildError("BuildTimeout", `${job.what} was cancelled`));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, p: { id: ++this.ids, resolve, reject } });
      this.next();
    });
  }

  forget(w: Worker): void {
    this.workers.delete(w);
    setImmediate(() => {
      this.next();
    });
  }

  next(): void {
    while (this.queue.length > 0) {
      let worker = [...this.workers].find((w) => !w.busy && !w.dead);
      if (worker === undefined && this.workers.size < this.size) {
        let file: string;
        try {
          file = findBinary(this.tool).file;
        } catch (e) {
          for (const { p } of this.queue.splice(0)) p.reject(e as Error);
          return;
        }
        worker = new Worker(file, this);
        this.workers.add(worker);
      }
      if (worker === undefined) return;
      const next = this.queue.shift();
      if (next === undefined) return;
      if (next.job.signal?.aborted === true) {
        next.p.reject(new BuildError("BuildTimeout", `${next.job.what} was cancelled`));
        continue;
      }
      worker.run(next.p.id, next.job, next.p);
    }
  }
}

function poolSize(): number {
  const fromEnv = Number(process.env.TENANTRY_BUILD_WORKERS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(2, Math.min(4, availableParallelism()));
}

const pool = new Pool("build", poolSize());
/**
 * The helpers that decrypt (tenantry-build-sops): started only when a request needs one, and two
 * at most (each holds about 60 MB, three times the other's; a team's agent has 256 MiB).
 */
const sopsPool = new Pool("build-sops", Math.min(2, poolSize()));

/** A build request as the helper reads it. */
function buildJob(req: BuildRequest, format: Format): Job {
  return {
    what: `kustomize build ${req.dir}`,
    timeoutMs: req.timeoutMs,
    signal: req.signal,
    fields: {
      root: req.root,
      dir: req.dir,
      origin: req.origin === true,
      maxCheckoutBytes: req.limits?.checkoutBytes ?? LIMITS.checkoutBytes,
      maxRenderBytes: req.limits?.renderBytes ?? LIMITS.renderBytes,
      format,
      ...(req.files === undefined ? {} : { files: Object.fromEntries(req.files) }),
      ...(req.ageIdentities === undefined ? {} : { ageIdentities: req.ageIdentities }),
      ...(req.refusePlainSecrets === true ? { refusePlainSecrets: true } : {}),
      ...(req.sopsPassthrough === true ? { sopsPassthrough: true } : {}),
    },
  };
}

/** The pool that serves `req`: the decrypting one when it carries age identities or reads SOPS files. */
const poolFor = (req: BuildRequest): Pool => (req.ageIdentities === undefined && req.sopsPassthrough !== true ? pool : sopsPool);

/** The rendered YAML stream of one kustomization, built by the build service. */
export async function buildYaml(req: BuildRequest): Promise<string> {
  const built = await poolFor(req).send(buildJob(req, "yaml"));
  if (built.yaml === undefined) throw new BuildError("BuildFailed", `the build service answered ${req.dir} without YAML`);
  return built.yaml;
}

/**
 * The objects of one kustomization, built by the build service and handed over as JSON (in
 * order, keys in order, each value as kustomize's YAML library typed it: tools/build
 * objects.go), with the size of that JSON: reading the YAML stream in Node cost more than the
 * build. Not yet checked to be Kubernetes objects (model/object.ts does).
 */
export async function buildJson(req: BuildRequest): Promise<{ readonly objects: unknown[]; readonly bytes: number }> {
  const built = await poolFor(req).send(buildJob(req, "json"));
  if (!Array.isArray(built.objects)) throw new BuildError("BuildFailed", `the build service answered ${req.dir} without objects`);
  return { objects: built.objects, bytes: built.bytes ?? 0 };
}

/** A new age identity (AGE-SECRET-KEY-1...) and its recipient (age1...), made by tenantry-build-sops (filippo.io/age). */
export async function ageKeygen(): Promise<{ readonly identity: string; readonly recipient: string }> {
  const r = await sopsPool.send({ what: "making an age key", fields: { op: "age-keygen" } });
  if (r.identity === undefined || r.recipient === undefined) throw new BuildError("BuildFailed", "the build service made no age key");
  return { identity: r.identity, recipient: r.recipient };
}

/** The recipients (age1...) of the age identities in `identities` (a `.agekey` text), in order. */
export async function ageRecipientsOf(identities: string): Promise<string[]> {
  const r = await sopsPool.send({ what: "reading age identities", fields: { op: "age-recipients", ageIdentities: identities } });
  return (r.recipient ?? "").split("\n").filter((l) => l !== "");
}

/**
 * `text` encrypted as sops encrypts `file` (its name says the format) by the creation rule for
 * it in the `.sops.yaml` at `sopsConfig` (absolute paths), for age recipients only: sops' own
 * code in tenantry-build-sops. Errors name the file, never a value.
 */
export async function sopsEncrypt(file: string, text: string, sopsConfig: string): Promise<string> {
  const r = await sopsPool.send({ what: `encrypting ${file}`, fields: { op: "encrypt", file, text, sopsConfig } });
  if (r.text === undefined) throw new BuildError("BuildFailed", `the build service answered ${file} without text`);
  return r.text;
}

/**
 * `text` (a SOPS file named `file`) decrypted with `identities` and encrypted again, with a new
 * data key, by the creation rule for `file` in `sopsConfig`: the plaintext never leaves
 * tenantry-build-sops. null when `text` is no SOPS file.
 */
export async function sopsReencrypt(file: string, text: string, sopsConfig: string, identities: string): Promise<string | null> {
  try {
    const r = await sopsPool.send({ what: `re-encrypting ${file}`, fields: { op: "reencrypt", file, text, sopsConfig, ageIdentities: identities } });
    return r.text ?? null;
  } catch (e) {
    if (e instanceof BuildError && e.reason === "NotEncrypted") return null;
    throw e;
  }
}

/** The age recipients the SOPS file `text` (named `file`) is encrypted for; null when it is no SOPS file. */
export async function sopsFileRecipients(file: string, text: string): Promise<string[] | null> {
  try {
    const r = await sopsPool.send({ what: `reading ${file}`, fields: { op: "file-recipients", file, text } });
    return (r.recipient ?? "").split("\n").filter((l) => l !== "");
  } catch (e) {
    if (e instanceof BuildError && e.reason === "NotEncrypted") return null;
    throw e;
  }
}
