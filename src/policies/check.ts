// The policy step of `tenantry validate`: the repo's ConstraintTemplates compiled (Rego and
// CEL) and every team's Constraints exercised by generated gator suites, with both engines;
// its ValidatingAdmissionPolicies checked by the API server's own validation
// (tenantry-celcheck). Problems are reported against the file of the object at fault.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describeObject, type KubeObject } from "../model/object.js";
import { TenantryError } from "../errors.js";
import { type Located, type Problem, problemAt } from "../model/problem.js";
import { checkAdmissionPolicies, isAdmissionPolicy } from "./celcheck.js";
import { ENGINES, type Engine, type GatorFailure, verifySuites } from "./gator.js";
import { generateSuites, type Suites, type TeamConstraints } from "./suite.js";

export interface PolicySummary {
  readonly templates: number;
  readonly constraints: number;
  /** gator cases run per engine (CEL, Rego). */
  readonly cases: Readonly<Record<Engine, number>>;
  /** ValidatingAdmissionPolicies and bindings checked by tenantry-celcheck. */
  readonly admissionPolicies: number;
}

export interface PolicyCheck {
  readonly problems: Problem[];
  readonly notes: string[];
  /** A checker is missing or failed: the policies could not be checked (exit 4). */
  readonly toolFailed: boolean;
  readonly summary: PolicySummary;
}

const TEMPLATE_GROUP = "templates.gatekeeper.sh/";
const CONSTRAINT_GROUP = "constraints.gatekeeper.sh/";

export function isConstraintTemplate(o: KubeObject): boolean {
  return o.apiVersion.startsWith(TEMPLATE_GROUP) && o.kind === "ConstraintTemplate";
}

function isConstraint(o: KubeObject): boolean {
  return o.apiVersion.startsWith(CONSTRAINT_GROUP);
}

/** One line of gator's (possibly multi-line) reason: the first line, and the source line a CEL error points at. */
function oneLine(detail: string): string {
  const lines = detail.split("\n").map((l) => l.trim());
  const first = lines[0] ?? "";
  const source = lines.find((l) => l.startsWith("| ") && !/^\|\s*\.*\^$/.test(l));
  return source === undefined ? first : `${first} (at: ${source.slice(2).trim()})`;
}

/** The compile error in a failed compile case: gator prints the offending messages in `got messages [...]`. */
function compileError(detail: string): string {
  const m = /got messages \[(compilation error: [\s\S]*)\]\s*$/.exec(detail);
  return oneLine((m?.[1] ?? detail).replace(/^compilation error: (compilation failed: )?/, ""));
}

/** Maps gator's failures to problems on the templates and constraints they concern. */
export function failureProblems(suites: Suites, failures: readonly GatorFailure[], locate: (test: string) => Located | undefined): Problem[] {
  const tests = new Map(suites.tests.map((t) => [t.name, t]));
  const broken = new Set<string>(); // `${engine} ${template}` whose compile test failed
  const problems: Problem[] = [];
  for (const f of failures) {
    const test = tests.get(f.test);
    if (test === undefined || !f.test.startsWith("compile/")) continue;
    broken.add(`${f.engine} ${test.template}`);
    const language = f.engine === "CEL" ? "CEL (K8sNativeValidation)" : "Rego";
    const message = f.case === null ? oneLine(f.detail.replace(/^adding template: (invalid ConstraintTemplate: )?/, "")) : compileError(f.detail);
    problems.push(problemFor(test, locate, `${language} does not compile: ${message}`));
  }
  for (const f of failures) {
    const test = tests.get(f.test);
    if (test === undefined || f.test.startsWith("compile/") || broken.has(`${f.engine} ${test.template}`)) continue;
    const what = f.case === null ? "" : ` case ${f.case} (${test.cases.get(f.case) ?? "?"})`;
    problems.push(problemFor(test, locate, `gator verify, ${f.engine} engine, ConstraintTemplate ${test.template}:${what} failed: ${oneLine(f.detail)}`));
  }
  return problems;
}

function problemFor(test: Suites["tests"][number], locate: (test: string) => Located | undefined, message: string): Problem {
  const l = locate(test.name);
  return l === undefined ? { file: test.file, overlay: ".", object: test.object, message } : problemAt(l, message);
}

function writeSuites(suites: Suites): string {
  const dir = mkdtempSync(join(tmpdir(), "tenantry-gator-"));
  for (const [path, text] of suites.files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function toolProblem(e: unknown): Problem {
  if (!(e instanceof TenantryError)) throw e;
  return { file: null, overlay: ".", object: null, message: e.message };
}

async function gatorProblems(objects: readonly Located[], teams: readonly string[]): Promise<{ problems: Problem[]; notes: string[]; cases: Record<Engine, number>; constraints: number }> {
  const templates = objects.filter((l) => isConstraintTemplate(l.object));
  const byTeam: TeamConstraints[] = teams.map((team) => ({
    team,
    constraints: objects.filter((l) => l.team === team && isConstraint(l.object)).map((l) => ({ object: l.object, file: l.file })),
  }));
  const constraints = byTeam.reduce((n, t) => n + t.constraints.length, 0);
  const cases: Record<Engine, number> = { CEL: 0, Rego: 0 };
  if (templates.length === 0) return { problems: [], notes: [], cases, constraints };
  const suites = generateSuites(
    templates.map((l) => ({ object: l.object, file: l.file })),
    byTeam,
  );
  const notes = suites.unexercised.map((c) => `${c}: a constraint kind tenantry has no gator cases for: its template is compiled, the constraint is not exercised`);
  const dir = writeSuites(suites);
  try {
    const runs = await Promise.all(ENGINES.map((engine) => verifySuites(dir, engine)));
    for (const [i, engine] of ENGINES.entries()) cases[engine] = runs[i]?.cases ?? 0;
    const key = (object: string, file: string | null): string => `${object}\u0000${file ?? ""}`;
    const byKey = new Map(objects.map((l) => [key(describeObject(l.object), l.file), l]));
    const byTest = new Map(suites.tests.map((t) => [t.name, byKey.get(key(t.object, t.file))]));
    return { problems: failureProblems(suites, runs.flatMap((r) => r.failures), (name) => byTest.get(name)), notes, cases, constraints };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function admissionPolicyProblems(objects: readonly Located[]): Promise<Problem[]> {
  const policies = objects.filter((l) => isAdmissionPolicy(l.object));
  const found = await checkAdmissionPolicies(policies.map((l) => l.object));
  return [...found].flatMap(([i, messages]) => {
    const l = policies[i];
    return l === undefined ? [] : messages.map((m) => problemAt(l, `the API server would refuse it: ${m}`));
  });
}

/** Checks the policies among an admin repo's built objects; `teams` in the repo's order. */
export async function checkPolicies(objects: readonly Located[], teams: readonly string[]): Promise<PolicyCheck> {
  const problems: Problem[] = [];
  const notes: string[] = [];
  let toolFailed = false;
  let cases: Record<Engine, number> = { CEL: 0, Rego: 0 };
  let constraints = 0;
  const [gator, vap] = await Promise.allSettled([gatorProblems(objects, teams), admissionPolicyProblems(objects)]);
  if (gator.status === "fulfilled") {
    problems.push(...gator.value.problems);
    notes.push(...gator.value.notes);
    ({ cases, constraints } = gator.value);
  } else {
    problems.push(toolProblem(gator.reason));
    toolFailed = true;
  }
  if (vap.status === "fulfilled") problems.push(...vap.value);
  else {
    problems.push(toolProblem(vap.reason));
    toolFailed = true;
  }
  return {
    problems,
    notes,
    toolFailed,
    summary: {
      templates: objects.filter((l) => isConstraintTemplate(l.object)).length,
      constraints,
      cases,
      admissionPolicies: objects.filter((l) => isAdmissionPolicy(l.object)).length,
    },
  };
}
