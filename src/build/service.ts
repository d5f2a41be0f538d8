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
export type BuildReason = "RemoteBaseRefused" | "OutsideCheckout" | "CheckoutTooLarge" | "RenderTooLarge" | "BuildFailed" | "DecryptionFailed" | "BuildTimeout" | "BadRequest";

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
}

/** What a build gives: the YAML stream, or (format json) the objects and the bytes of their JSON. */
type Built = { readonly yaml: string } | { readonly objects: unknown[]; readonly bytes: number };

interface Pending {
  readonly id: number;
  readonly resolve: (built: Built) => void;
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

  constructor(file: string) {
    this.child = spawn(file, ["--max-memory", String(LIMITS.memoryBytes)], { env: sandboxEnv(), stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.on("data", (c: Buffer) => {
      this.stderr = (this.stderr + c.toString("utf8")).slice(-4096);
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
        p.reject(new BuildError("BuildFailed", `the build service answered something unreadable: ${line.slice(0, 200)}`));
        return;
      }
      if (reply.yaml !== undefined) p.resolve({ yaml: reply.yaml });
      else if (Array.isArray(reply.objects)) p.resolve({ objects: reply.objects, bytes: reply.bytes ?? line.length });
      else p.reject(new BuildError(reply.reason ?? "BuildFailed", reply.error ?? "the build failed", reply.problems ?? []));
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
    pool.forget(this);
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

  run(id: number, req: BuildRequest, format: Format, p: Pending): void {
    this.current = p;
    this.active();
    const limit = req.timeoutMs ?? LIMITS.timeoutMs;
    const timer = setTimeout(() => {
      this.kill(new BuildError("BuildTimeout", `kustomize build ${req.dir} took longer than ${String(Math.round(limit / 1000))} s: it was stopped`));
    }, limit);
    const onAbort = (): void => {
      this.kill(new BuildError("BuildTimeout", `kustomize build ${req.dir} was cancelled`));
    };
    req.signal?.addEventListener("abort", onAbort, { once: true });
    const settle = <T>(f: (v: T) => void) => (v: T): void => {
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", onAbort);
      f(v);
    };
    this.current = { id, resolve: settle(p.resolve), reject: settle(p.reject) };
    const line = JSON.stringify({
      id,
      root: req.root,
      dir: req.dir,
      origin: req.origin === true,
      maxCheckoutBytes: req.limits?.checkoutBytes ?? LIMITS.checkoutBytes,
      maxRenderBytes: req.limits?.renderBytes ?? LIMITS.renderBytes,
      format,
      ...(req.files === undefined ? {} : { files: Object.fromEntries(req.files) }),
    });
    this.child.stdin.write(`${line}\n`);
  }

  /** Stops the process now: its build, if any, ends with `e`. */
  kill(e: Error): void {
    const p = this.current;
    this.current = undefined;
    this.dead = true;
    pool.forget(this);
    this.child.kill("SIGKILL");
    p?.reject(e);
  }
}

/** The helpers and the builds waiting for one. */
class Pool {
  private readonly workers = new Set<Worker>();
  private readonly queue: { req: BuildRequest; format: Format; p: Pending }[] = [];
  private ids = 0;

  constructor(private readonly size: number) {}

  build(req: BuildRequest, format: Format): Promise<Built> {
    if (req.signal?.aborted === true) return Promise.reject(new BuildError("BuildTimeout", `kustomize build ${req.dir} was cancelled`));
    return new Promise((resolve, reject) => {
      this.queue.push({ req, format, p: { id: ++this.ids, resolve, reject } });
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
          file = findBinary("build").file;
        } catch (e) {
          for (const { p } of this.queue.splice(0)) p.reject(e as Error);
          return;
        }
        worker = new Worker(file);
        this.workers.add(worker);
      }
      if (worker === undefined) return;
      const job = this.queue.shift();
      if (job === undefined) return;
      if (job.req.signal?.aborted === true) {
        job.p.reject(new BuildError("BuildTimeout", `kustomize build ${job.req.dir} was cancelled`));
        continue;
      }
      worker.run(job.p.id, job.req, job.format, job.p);
    }
  }
}

function poolSize(): number {
  const fromEnv = Number(process.env.TENANTRY_BUILD_WORKERS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(2, Math.min(4, availableParallelism()));
}

const pool = new Pool(poolSize());

/** The rendered YAML stream of one kustomization, built by the build service. */
export async function buildYaml(req: BuildRequest): Promise<string> {
  const built = await pool.build(req, "yaml");
  if (!("yaml" in built)) throw new BuildError("BuildFailed", `the build service answered ${req.dir} without YAML`);
  return built.yaml;
}

/**
 * The objects of one kustomization, built by the build service and handed over as JSON (in
 * order, keys in order, each value as kustomize's YAML library typed it: tools/build
 * objects.go), with the size of that JSON: reading the YAML stream in Node cost more than the
 * build. Not yet checked to be Kubernetes objects (model/object.ts does).
 */
export async function buildJson(req: BuildRequest): Promise<{ readonly objects: unknown[]; readonly bytes: number }> {
  const built = await pool.build(req, "json");
  if (!("objects" in built)) throw new BuildError("BuildFailed", `the build service answered ${req.dir} without objects`);
  return built;
}
