// Renders two refs of an admin repo for `tenantry plan`. Each ref is checked out with
// `git worktree add --detach --no-checkout` into a temporary directory (the user's checkout
// and index are never touched; the worktrees are always removed), and only what the plan
// needs is checked out and built:
//
// - While the root is plain (see validate/overlays.ts), only the overlays a change can
//   reach are built: those with a changed file, those listed at one ref only, and those
//   whose kustomizations name anything outside their directory (`..`), at both refs. An
//   overlay outside that set renders the same at both refs, so it holds no change.
// - Otherwise the whole repo is checked out and the root built at both refs.

import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { promisify } from "node:util";
import { objectId } from "../model/object.js";
import { ToolError, ValidationError } from "../errors.js";
import { mapLimit } from "../concurrency.js";
import { KUSTOMIZATION_FILES } from "../build/closure.js";
import { type AdminLayout, buildUnit, layoutOf, TEAMS, unitOfPath } from "../build/admin-layout.js";
import type { PlanObject, PlanSide } from "../plan/plan.js";

const run = promisify(execFile);

/** Runs git with hooks off (a worktree checkout must not run the user's hooks). */
async function git(cwd: string, args: readonly string[], okCodes: readonly number[] = [0]): Promise<string> {
  try {
    const { stdout } = await run("git", ["-c", "core.hooksPath=/dev/null", ...args], { cwd, maxBuffer: 256 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof err.code === "number" && okCodes.includes(err.code)) return err.stdout ?? "";
    if (err.code === "ENOENT") throw new ToolError("git is not installed: install git");
    const detail = (err.stderr ?? err.message).trim().split("\n").filter(Boolean).slice(-1)[0] ?? "failed";
    throw new ToolError(`git ${args[0] ?? ""} failed in ${cwd}: ${detail}`);
  }
}

/**
 * The repo's top directory, the admin repo's path inside it, and the refs as commit hashes:
 * one git call, and one per ref only to say which is unknown.
 */
async function locate(repoDir: string, refs: readonly string[]): Promise<{ top: string; prefix: string; commits: string[] }> {
  const options = refs.filter((r) => r.startsWith("-"));
  if (options.length > 0) throw new ValidationError(options.map((r) => `"${r}" is not a git ref: give a branch, tag or commit, e.g. origin/main`));
  const specs = refs.map((r) => `${r}^{commit}`);
  const out = (await git(repoDir, ["rev-parse", "--show-toplevel", "--show-prefix", ...specs], [128])).split("\n");
  const top = out[0] ?? "";
  if (!isAbsolute(top)) throw new ValidationError([`${repoDir} is not in a git repository: tenantry plan compares two commits of the admin repo`]);
  const commits = out.slice(2).filter((l) => /^[0-9a-f]{40,64}$/.test(l));
  if (commits.length === refs.length) return { top, prefix: out[1] ?? "", commits };
  const unknown: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const one = await git(repoDir, ["rev-parse", "--verify", "--quiet", "--end-of-options", spec], [1]);
    if (one.trim() === "") unknown.push(`unknown git ref "${refs[i] ?? ""}" in ${repoDir}: give a branch, tag or commit, e.g. origin/main or HEAD~1`);
  }
  throw new ValidationError(unknown.length > 0 ? unknown : [`cannot resolve ${refs.join(" and ")} in ${repoDir}`]);
}

/**
 * The contents of `<commit>:<path>` specs or blob ids (null when missing), in one
 * `git cat-file --batch`. A spec with a line break cannot be asked for on its own line (the
 * rest of it would be read as the next question, shifting every answer after it): it reads as
 * missing, unasked.
 */
async function readBlobs(top: string, specs: readonly string[]): Promise<(string | null)[]> {
  const askable = specs.filter((spec) => !/[\r\n]/.test(spec));
  if (askable.length === specs.length) return readAskable(top, specs);
  const answers = new Map((await readAskable(top, askable)).map((text, i) => [askable[i], text]));
  return specs.map((spec) => answers.get(spec) ?? null);
}

function readAskable(top: string, specs: readonly string[]): Promise<(string | null)[]> {
  if (specs.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["cat-file", "--batch"], { cwd: top, stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", (e) => {
      reject(new ToolError(`git cat-file failed in ${top}: ${e.message}`));
    });
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new ToolError(`git cat-file failed in ${top}: ${stderr.trim() || `exit ${String(code)}`}`));
        return;
      }
      // Each answer: "<sha> <type> <size>\n<content>\n", or "<spec> missing\n".
      const out = Buffer.concat(chunks);
      const blobs: (string | null)[] = [];
      let at = 0;
      for (let i = 0; i < specs.length; i++) {
        const nl = out.indexOf(10, at);
        const header = out.subarray(at, nl).toString("utf8");
        at = nl + 1;
        const m = / blob (\d+)$/.exec(header);
        if (m === null) {
          blobs.push(null);
          continue;
        }
        const size = Number(m[1]);
        blobs.push(out.subarray(at, at + size).toString("utf8"));
        at += size + 1;
      }
      resolve(blobs);
    });
    child.stdin.end(specs.map((spec) => `${spec}\n`).join(""));
  });
}

function nul(text: string): string[] {
  return text.split("\0").filter((p) => p !== "");
}

interface Side {
  readonly name: "base" | "head";
  readonly ref: string;
  readonly commit: string;
  readonly worktree: string;
  /** The admin repo inside the worktree. */
  readonly root: string;
}

/**
 * Checks out `paths` (relative to the admin repo) at the side's commit. Paths the commit
 * lacks are left out: tried at once, and only after a refusal looked up one by one.
 */
async function checkout(side: Side, prefix: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const wanted = paths.map((p) => (p === "." ? prefix || "." : `${prefix}${p}`));
  const ok = await git(side.worktree, ["checkout", side.commit, "--", ...wanted]).then(
    () => true,
    () => false,
  );
  if (ok) return;
  const existing = nul(await git(side.worktree, ["ls-tree", "-z", "--name-only", side.commit, "--", ...wanted]));
  if (existing.length > 0) await git(side.worktree, ["checkout", side.commit, "--", ...existing]);
}

/**
 * Per commit, the overlays whose kustomizations name a `..` path outside a comment: they may
 * read files outside their directory. (A pathspec `*` matches `/` too: nested
 * kustomizations count.) One `git grep` over both commits.
 */
async function reachingOut(top: string, commits: readonly string[], prefix: string): Promise<Map<string, Set<string>>> {
  const specs = KUSTOMIZATION_FILES.map((f) => `${prefix}cluster/*/${f}`);
  const out = await git(top, ["grep", "-l", "-z", "-E", "-e", "^[^#]*\\.\\.([/\"' ]|$)", ...new Set(commits), "--", ...specs], [1]);
  const found = new Map(commits.map((c) => [c, new Set<string>()]));
  for (const hit of nul(out)) {
    const colon = hit.indexOf(":");
    const unit = unitOfPath(hit.slice(colon + 1).slice(prefix.length));
    if (unit !== undefined && unit !== TEAMS) found.get(hit.slice(0, colon))?.add(unit);
  }
  return found;
}

export interface RenderedRefs {
  readonly base: PlanSide;
  readonly head: PlanSide;
  /** Every object of head, when asked for (the live-cluster check needs them all). */
  readonly headAll: readonly PlanObject[] | null;
}

function unique(objects: readonly PlanObject[], ref: string): PlanObject[] {
  const seen = new Map<string, PlanObject>();
  const problems: string[] = [];
  for (const o of objects) {
    const id = objectId(o.object);
    const first = seen.get(id);
    if (first !== undefined) problems.push(`${ref}: ${o.object.kind}/${o.object.metadata.name} is defined twice (${first.file ?? "?"} and ${o.file ?? "?"}): tenantry validate shows where`);
    else seen.set(id, o);
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return [...seen.values()];
}

/** Adds a detached worktree without a checkout for each ref, under `scratch`. */
async function addWorktrees(top: string, prefix: string, scratch: string, refs: readonly (readonly ["base" | "head", string, string])[], sides: Side[]): Promise<void> {
  for (const [name, ref, commit] of refs) {
    const worktree = join(scratch, name);
    await git(top, ["worktree", "add", "--quiet", "--detach", "--no-checkout", worktree, commit]);
    sides.push({ name, ref, commit, worktree, root: join(worktree, prefix) });
  }
}

/**
 * Each side's layout, from its two top kustomizations (read from git, nothing checked out).
 * A ref from before the admin repo existed renders nothing; the same two files at both refs
 * (the usual case) are parsed once.
 */
async function readLayouts(top: string, prefix: string, sides: readonly Side[]): Promise<Map<Side, AdminLayout>> {
  const names = (dir: string): string[] => KUSTOMIZATION_FILES.map((f) => `${prefix}${dir}${f}`);
  const specs = sides.flatMap((s) => [...names(""), ...names(`${TEAMS}/`)].map((path) => `${s.commit}:${path}`));
  const blobs = await readBlobs(top, specs);
  const n = KUSTOMIZATION_FILES.length;
  const first = (from: number): string | undefined => blobs.slice(from, from + n).find((b): b is string => b !== null);
  const parsed = new Map<string, AdminLayout>();
  return new Map(
    sides.map((s, i) => {
      const rootText = first(i * 2 * n);
      const teamsText = first(i * 2 * n + n);
      const key = JSON.stringify([rootText ?? null, teamsText ?? null]);
      const layout = parsed.get(key) ?? (rootText === undefined ? { teams: [], plain: true, units: [] } : layoutOf(rootText, teamsText));
      parsed.set(key, layout);
      return [s, layout];
    }),
  );
}

interface BuildTask {
  readonly side: Side;
  readonly unit: string;
  /** Whether its objects belong in the plan (false: only in the whole head, for --cluster). */
  readonly forPlan: boolean;
}

/**
 * The overlays a change can reach (see the top): those with a changed file, those listed at
 * one ref only, and those that read outside their directory, at both refs.
 */
async function reachableUnits(top: string, prefix: string, base: Side, head: Side, layouts: ReadonlyMap<Side, AdminLayout>): Promise<{ needed: Set<string>; outward: Set<string>[] }> {
  const baseUnits = new Set((layouts.get(base) as AdminLayout).units);
  const headUnits = new Set((layouts.get(head) as AdminLayout).units);
  const changed = nul(await git(top, ["diff", "--name-only", "-z", "--no-renames", base.commit, head.commit, "--", prefix || "."]));
  const needed = new Set<string>();
  for (const path of changed) {
    const unit = unitOfPath(path.slice(prefix.length));
    if (unit !== undefined) needed.add(unit);
  }
  for (const u of baseUnits) if (!headUnits.has(u)) needed.add(u);
  for (const u of headUnits) if (!baseUnits.has(u)) needed.add(u);
  const reaching = await reachingOut(top, [base.commit, head.commit], prefix);
  const outward = [base, head].map((s) => reaching.get(s.commit) ?? new Set<string>());
  for (const set of outward) for (const u of set) needed.add(u);
  return { needed, outward };
}

/** Checks out what each side's builds need and says which builds to run. */
async function plannedBuilds(top: string, prefix: string, sides: readonly [Side, Side], layouts: ReadonlyMap<Side, AdminLayout>, allHead: boolean): Promise<BuildTask[]> {
  const [base, head] = sides;
  const plain = (layouts.get(base) as AdminLayout).plain && (layouts.get(head) as AdminLayout).plain;
  if (!plain) {
    await Promise.all(sides.map((s) => checkout(s, prefix, ["."])));
    return sides.map((side) => ({ side, unit: ".", forPlan: true }));
  }
  const { needed, outward } = await reachableUnits(top, prefix, base, head, layouts);
  const tasks: BuildTask[] = [];
  for (const s of sides) {
    const all = s === head && allHead;
    const units = (layouts.get(s) as AdminLayout).units.filter((u) => all || needed.has(u));
    // An overlay that reads outside its directory needs the rest of the repo present.
    const whole = all || units.some((u) => outward.some((set) => set.has(u)));
    await checkout(s, prefix, whole ? ["."] : units);
    for (const unit of units) tasks.push({ side: s, unit, forPlan: needed.has(unit) });
  }
  return tasks;
}

/**
 * Renders `baseRef` and `headRef` of the admin repo at `repoDir` (its root, where
 * tenantry.yaml is). With `allHead`, head is built whole as well.
 */
export async function renderRefs(repoDir: string, baseRef: string, headRef: string, opts: { allHead: boolean }): Promise<RenderedRefs> {
  const { top, prefix, commits } = await locate(repoDir, [baseRef, headRef]);
  const [baseCommit = "", headCommit = ""] = commits;
  const scratch = mkdtempSync(join(tmpdir(), "tenantry-plan-"));
  const sides: Side[] = [];
  try {
    await addWorktrees(top, prefix, scratch, [["base", baseRef, baseCommit], ["head", headRef, headCommit]], sides);
    const [base, head] = sides as [Side, Side];
    const layouts = await readLayouts(top, prefix, sides);
    const tasks = await plannedBuilds(top, prefix, [base, head], layouts, opts.allHead);
    const results = await mapLimit(tasks, Math.max(2, availableParallelism()), async (t) => ({ task: t, objects: await buildUnit(t.side.root, t.unit) }));
    const collect = (s: Side, planOnly: boolean): PlanObject[] =>
      results.filter((r) => r.task.side === s && (!planOnly || r.task.forPlan)).flatMap((r) => r.objects);
    const sideOf = (s: Side): PlanSide => ({
      ref: s.ref,
      commit: s.commit,
      teams: (layouts.get(s) as AdminLayout).teams,
      objects: unique(collect(s, true), s.ref),
    });
    return { base: sideOf(base), head: sideOf(head), headAll: opts.allHead ? unique(collect(head, false), head.ref) : null };
  } finally {
    // Removing the directories and pruning is `git worktree remove` for both in one call.
    rmSync(scratch, { recursive: true, force: true });
    if (sides.length > 0) await git(top, ["worktree", "prune"]).catch(() => undefined);
  }
}

/** From this many paths on, readAtCommit lists the trees that hold them once instead of looking each one up. */
const MANY_PATHS = 64;

/**
 * The contents of admin-repo-relative `paths` at `commit` (null where missing), read from git
 * without a checkout. A `<commit>:<path>` lookup walks every tree on its way, each time: 5000
 * team.yaml files beside 5000 team directories took 3 s that way, and 40 ms as one
 * `git ls-tree -r` of the directories that hold them and a read of each blob by its id.
 */
export async function readAtCommit(repoDir: string, commit: string, paths: readonly string[]): Promise<(string | null)[]> {
  if (paths.length === 0) return [];
  const { top, prefix } = await locate(repoDir, [commit]);
  const full = paths.map((p) => `${prefix}${p}`);
  if (paths.length < MANY_PATHS) return readBlobs(top, full.map((p) => `${commit}:${p}`));
  const dirs = [...new Set(paths.map((p) => `${prefix}${p.split("/")[0] ?? ""}`))];
  const blobs = new Map<string, string | null>();
  for (const entry of nul(await git(top, ["--literal-pathspecs", "ls-tree", "-r", "-z", commit, "--", ...dirs]))) {
    // "<mode> <type> <id>\t<path>": a symbolic link is a blob too, as `<commit>:<path>` reads it.
    const tab = entry.indexOf("\t");
    const [, type, id] = entry.slice(0, tab).split(" ");
    const path = entry.slice(tab + 1);
    // A path listed twice (a malformed tree, or names that decode alike) is no one file: missing.
    if (blobs.has(path)) blobs.set(path, null);
    else if (type === "blob" && id !== undefined) blobs.set(path, id);
    else blobs.set(path, null);
  }
  const ids = [...new Set(full.map((p) => blobs.get(p)).filter((id): id is string => typeof id === "string"))];
  const texts = new Map((await readBlobs(top, ids)).map((text, i) => [ids[i], text]));
  return full.map((p) => {
    const id = blobs.get(p);
    return typeof id === "string" ? (texts.get(id) ?? null) : null;
  });
}
