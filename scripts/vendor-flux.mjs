#!/usr/bin/env node
// Writes vendor/flux/gotk-components.yaml: the Flux components an admin repo on the flux engine
// installs (namespace flux-system; source-controller and kustomize-controller with their CRDs,
// RBAC and Deployments), assembled from the pinned release modules' own config/ directories
// (the modules tools/flux/{source,kustomize} build). `--check` compares instead of writing and
// exits 1 when the vendored file is not what the pinned modules give (test/cli/toolchain.test.ts
// runs it), so the file can never drift from FLUX_VERSION in tools/versions.env.
//
// The layout follows what `flux install` generates (one ServiceAccount per controller in
// flux-system, images ghcr.io/fluxcd/<controller>:<version>, kustomize-controller bound to
// cluster-admin as "cluster-reconciler"), built from the controllers' kubebuilder RBAC; CPU
// quantities are written as the API server stores them (`1000m` as `1`).

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, stringify } from "yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(root, "vendor/flux/gotk-components.yaml");
const NAMESPACE = "flux-system";

function pinnedVersion() {
  const env = readFileSync(join(root, "tools/versions.env"), "utf8");
  const m = /^FLUX_VERSION=(\S+)$/m.exec(env);
  if (m === null) throw new Error("tools/versions.env has no FLUX_VERSION");
  return m[1];
}

/** The module's directory in the Go module cache, downloading it when missing. */
function moduleDir(wrapper, module, version) {
  const out = execFileSync("go", ["mod", "download", "-json", `${module}@${version}`], { cwd: join(root, wrapper), encoding: "utf8" });
  const dir = JSON.parse(out).Dir;
  if (typeof dir !== "string" || dir === "") throw new Error(`go mod download ${module}@${version} named no directory`);
  return dir;
}

/**
 * A CPU quantity as the API server stores it (`1000m` -> `1`): the releases write `1000m`, and
 * an object whose stored form differs from Git's is re-applied by every skip-unchanged check
 * (src/cluster/unchanged.ts), so bootstrap and the agent would never find it unchanged.
 */
function canonicalQuantity(v) {
  const m = typeof v === "string" ? /^([1-9]\d*)000m$/.exec(v) : null;
  return m === null ? v : m[1];
}

function readObjects(file) {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .filter((o) => o !== null && typeof o === "object");
}

const partOf = (version, component) => ({
  "app.kubernetes.io/part-of": "flux",
  "app.kubernetes.io/instance": NAMESPACE,
  "app.kubernetes.io/version": version,
  ...(component === null ? {} : { "app.kubernetes.io/component": component }),
});

function withLabels(o, labels) {
  return { ...o, metadata: { ...o.metadata, labels: { ...(o.metadata.labels ?? {}), ...labels } } };
}

/** One controller's objects: its CRDs, ServiceAccount, RBAC and Deployment (and Service). */
function controller(dir, name, version) {
  const labels = partOf(version, name);
  const sa = { kind: "ServiceAccount", name, namespace: NAMESPACE };
  const objects = [];
  for (const f of readdirSync(join(dir, "config/crd/bases")).filter((f) => f.endsWith(".yaml")).sort()) {
    objects.push(...readObjects(join(dir, "config/crd/bases", f)).map((o) => withLabels(o, labels)));
  }
  objects.push({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: NAMESPACE, labels } });
  for (const role of readObjects(join(dir, "config/rbac/role.yaml"))) {
    objects.push({ ...role, metadata: { name: `${name}-manager`, labels } });
  }
  objects.push({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `${name}-manager`, labels },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${name}-manager` },
    subjects: [sa],
  });
  for (const role of readObjects(join(dir, "config/rbac/leader_election_role.yaml"))) {
    objects.push({ ...role, metadata: { name: `${name}-leader-election`, namespace: NAMESPACE, labels } });
  }
  objects.push({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `${name}-leader-election`, namespace: NAMESPACE, labels },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${name}-leader-election` },
    subjects: [sa],
  });
  for (const f of ["service.yaml", "deployment.yaml"]) {
    let found;
    try {
      found = readObjects(join(dir, "config/manager", f));
    } catch {
      continue; // kustomize-controller has no Service
    }
    for (const o of found) {
      const obj = withLabels({ ...o, metadata: { ...o.metadata, namespace: NAMESPACE } }, labels);
      if (o.kind === "Deployment") {
        const spec = obj.spec.template.spec;
        spec.serviceAccountName = name;
        for (const c of spec.containers) {
          c.image = `ghcr.io/fluxcd/${name}:${version}`;
          for (const values of [c.resources?.limits, c.resources?.requests]) {
            for (const [k, v] of Object.entries(values ?? {})) values[k] = canonicalQuantity(v);
          }
        }
      }
      objects.push(obj);
    }
  }
  return objects;
}

function render() {
  const version = pinnedVersion();
  const source = moduleDir("tools/flux/source", "github.com/fluxcd/source-controller", version);
  const kustomize = moduleDir("tools/flux/kustomize", "github.com/fluxcd/kustomize-controller", version);
  const namespace = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: NAMESPACE, labels: { ...partOf(version, null), "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest" } },
  };
  const reconciler = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "cluster-reconciler-flux-system", labels: partOf(version, null) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: "kustomize-controller", namespace: NAMESPACE }],
  };
  const objects = [namespace, ...controller(source, "source-controller", version), ...controller(kustomize, "kustomize-controller", version), reconciler];
  const header = [
    `# Flux ${version}: source-controller and kustomize-controller, generated by scripts/vendor-flux.mjs`,
    `# from the release modules github.com/fluxcd/{source,kustomize}-controller@${version} (their`,
    "# config/crd/bases, config/rbac and config/manager). Do not edit: change FLUX_VERSION in",
    "# tools/versions.env and run the script; `--check` (run by the tests) refuses any drift.",
  ].join("\n");
  return `${header}\n${objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join("")}`;
}

const text = render();
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(OUT, "utf8");
  } catch {
    // missing: reported below
  }
  if (current !== text) {
    console.error(`vendor/flux/gotk-components.yaml is not what the pinned Flux modules give: run node scripts/vendor-flux.mjs`);
    process.exit(1);
  }
} else {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT} (${text.split("\n---\n").length - 1} objects)`);
}
