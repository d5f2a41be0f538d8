// A hostile team repo against the real build service (tools/build): one unit per attack, as
// kubectl-mtb's benchmarks are written. Every repo is built by the real helper process; each
// attack must be refused with its reason and the file and entry named, and nothing may be
// fetched or executed: a local HTTP server that every remote entry points at must log no
// request, and a marker file that every executable payload would create must not exist.

import { chmodSync, existsSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildObjects, buildSplit } from "../../src/build/kustomize.js";
import { BuildError, type BuildReason } from "../../src/build/service.js";
import { tempDir } from "../helpers/cli.js";

let server: Server;
let base = "";
const requests: string[] = [];
const scratch = tempDir("tenantry-hostile-");
const marker = join(scratch, "PWNED");

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method ?? "?"} ${req.url ?? "?"}`);
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

type File = string | { symlink: string } | { sparse: number } | { executable: string };

/** A repo in a temp dir: path -> content, a symlink, a sparse file of a size, or a script. */
function repo(files: Record<string, File>): string {
  const root = join(tempDir("tenantry-hostile-repo-"), "repo");
  for (const [path, f] of Object.entries(files)) {
    const p = join(root, path);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof f === "string") writeFileSync(p, f);
    else if ("symlink" in f) symlinkSync(f.symlink, p);
    else if ("sparse" in f) {
      writeFileSync(p, "");
      truncateSync(p, f.sparse);
    } else {
      writeFileSync(p, f.executable);
      chmodSync(p, 0o755);
    }
  }
  return root;
}

const CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n";

async function refusal(root: string, opts: Partial<Parameters<typeof buildObjects>[0]> = {}): Promise<BuildError> {
  try {
    await buildObjects({ root, dir: ".", ...opts });
  } catch (e) {
    if (e instanceof BuildError) return e;
    throw e;
  }
  return expect.fail("the build service built a hostile repo");
}

interface Attack {
  readonly name: string;
  readonly files: () => Record<string, File>;
  readonly reason: BuildReason;
  readonly message: RegExp;
}

// Every field kustomize loads, with the spellings it accepts (its decoder matches keys without
// regard to case, and folds legacy fields in).
const REMOTE: Attack[] = [
  { name: "resources: an http file", files: () => ({ "kustomization.yaml": `resources:\n  - ${base}/cm.yaml\n` }), reason: "RemoteBaseRefused", message: /^kustomization\.yaml: resources entry "http:\/\/127\.0\.0\.1:\d+\/cm\.yaml" is a remote base/ },
  { name: "Resources (capitalised): an http file", files: () => ({ "kustomization.yaml": `Resources:\n  - ${base}/cm.yaml\n` }), reason: "RemoteBaseRefused", message: /resources entry "http:/ },
  { name: "RESOURCES through a YAML alias", files: () => ({ "kustomization.yaml": `commonAnnotations:\n  source: &r ${base}/cm.yaml\nRESOURCES: [*r]\n` }), reason: "RemoteBaseRefused", message: /resources entry "http:/ },
  { name: "resources: a git repo over https", files: () => ({ "kustomization.yaml": `resources:\n  - ${base}/acme/base.git//app?ref=main\n` }), reason: "RemoteBaseRefused", message: /resources entry ".*base\.git\/\/app\?ref=main"/ },
  { name: "resources: a GitHub shorthand", files: () => ({ "kustomization.yaml": "resources:\n  - github.com/acme/base//app?ref=v1\n" }), reason: "RemoteBaseRefused", message: /resources entry "github\.com\/acme\/base\/\/app\?ref=v1"/ },
  { name: "resources: git over ssh", files: () => ({ "kustomization.yaml": "resources:\n  - git@github.com:acme/base.git//app\n" }), reason: "RemoteBaseRefused", message: /resources entry "git@github\.com:acme\/base\.git\/\/app"/ },
  { name: "bases (legacy)", files: () => ({ "kustomization.yaml": "bases:\n  - https://github.com/acme/base//app\n" }), reason: "RemoteBaseRefused", message: /resources entry "https:\/\/github\.com\/acme\/base\/\/app"/ },
  { name: "components", files: () => ({ "kustomization.yaml": `components:\n  - ${base}/comp.git\n` }), reason: "RemoteBaseRefused", message: /components entry/ },
  { name: "generators", files: () => ({ "kustomization.yaml": `generators:\n  - ${base}/gen.yaml\n` }), reason: "RemoteBaseRefused", message: /generators entry/ },
  { name: "transformers", files: () => ({ "kustomization.yaml": `transformers:\n  - ${base}/t.yaml\n` }), reason: "RemoteBaseRefused", message: /transformers entry/ },
  { name: "validators", files: () => ({ "kustomization.yaml": `validators:\n  - ${base}/v.yaml\n` }), reason: "RemoteBaseRefused", message: /validators entry/ },
  { name: "crds", files: () => ({ "kustomization.yaml": `crds:\n  - ${base}/crd.json\n` }), reason: "RemoteBaseRefused", message: /crds entry/ },
  { name: "configurations", files: () => ({ "kustomization.yaml": `configurations:\n  - ${base}/c.yaml\n` }), reason: "RemoteBaseRefused", message: /configurations entry/ },
  { name: "openapi.path", files: () => ({ "kustomization.yaml": `openapi:\n  path: ${base}/schema.json\n` }), reason: "RemoteBaseRefused", message: /openapi\.path entry/ },
  { name: "patches[].path", files: () => ({ "kustomization.yaml": `resources: [cm.yaml]\npatches:\n  - path: ${base}/p.yaml\n`, "cm.yaml": CM }), reason: "RemoteBaseRefused", message: /patches\.path entry/ },
  { name: "patchesStrategicMerge", files: () => ({ "kustomization.yaml": `resources: [cm.yaml]\npatchesStrategicMerge:\n  - ${base}/p.yaml\n`, "cm.yaml": CM }), reason: "RemoteBaseRefused", message: /patchesStrategicMerge entry/ },
  { name: "patchesJson6902[].path", files: () => ({ "kustomization.yaml": `resources: [cm.yaml]\npatchesJson6902:\n  - target: {kind: ConfigMap, name: local}\n    path: ${base}/p.json\n`, "cm.yaml": CM }), reason: "RemoteBaseRefused", message: /patches\.path entry|patchesJson6902\.path entry/ },
  { name: "replacements[].path", files: () => ({ "kustomization.yaml": `resources: [cm.yaml]\nreplacements:\n  - path: ${base}/r.yaml\n`, "cm.yaml": CM }), reason: "RemoteBaseRefused", message: /replacements\.path entry/ },
  { name: "configMapGenerator files with a key", files: () => ({ "kustomization.yaml": `configMapGenerator:\n  - name: g\n    files:\n      - key=${base}/secret.txt\n` }), reason: "RemoteBaseRefused", message: /configMapGenerator\.files entry/ },
  { name: "secretGenerator envs", files: () => ({ "kustomization.yaml": `secretGenerator:\n  - name: g\n    envs:\n      - ${base}/.env\n` }), reason: "RemoteBaseRefused", message: /secretGenerator\.envs entry/ },
  { name: "configMapGenerator env (legacy)", files: () => ({ "kustomization.yaml": `configMapGenerator:\n  - name: g\n    env: ${base}/.env\n` }), reason: "RemoteBaseRefused", message: /configMapGenerator\.envs entry/ },
  {
    name: "a remote base two kustomizations down",
    files: () => ({ "kustomization.yaml": "resources: [app]\n", "app/kustomization.yaml": "resources: [../lib]\n", "lib/kustomization.yaml": `resources:\n  - ${base}/x.yaml\n` }),
    reason: "RemoteBaseRefused",
    message: /^lib\/kustomization\.yaml: resources entry/,
  },
  {
    // kustomize takes a kustomization's entries from its directory, not from where a symlinked
    // kustomization file points: the walk must too, or it reads other kustomizations than the build.
    name: "a remote base under a symlinked kustomization file",
    files: () => ({ "kustomization.yaml": { symlink: "b/kustomization.yaml" }, "b/kustomization.yaml": "resources: [sub]\n", "sub/kustomization.yaml": `resources:\n  - ${base}/x.yaml\n` }),
    reason: "RemoteBaseRefused",
    message: /^sub\/kustomization\.yaml: resources entry/,
  },
];

const ESCAPES: Attack[] = [
  { name: "a resource symlinked to a file outside", files: () => ({ "kustomization.yaml": "resources: [passwd.yaml]\n", "passwd.yaml": { symlink: "/etc/passwd" } }), reason: "OutsideCheckout", message: /resources entry "passwd\.yaml" leads outside the checkout/ },
  { name: "a kustomization symlinked to a device", files: () => ({ "kustomization.yaml": { symlink: "/dev/zero" } }), reason: "OutsideCheckout", message: /^kustomization\.yaml: it is a symlink that leads outside the checkout/ },
  { name: "a base symlinked to the root of the machine", files: () => ({ "kustomization.yaml": "resources: [everything]\n", everything: { symlink: "/" } }), reason: "OutsideCheckout", message: /resources entry "everything" leads outside the checkout/ },
  { name: "a generator file symlinked to the agent's token", files: () => ({ "kustomization.yaml": "configMapGenerator:\n  - name: g\n    files: [token]\n", token: { symlink: "/var/run/secrets/kubernetes.io/serviceaccount/token" } }), reason: "OutsideCheckout", message: /configMapGenerator\.files entry "token" leads outside the checkout/ },
  { name: "a path up and out", files: () => ({ "kustomization.yaml": "resources:\n  - ../../../etc\n" }), reason: "OutsideCheckout", message: /resources entry "\.\.\/\.\.\/\.\.\/etc" leads outside the checkout/ },
];

describe("remote content in any field kustomize loads: refused, nothing fetched", () => {
  for (const attack of REMOTE) {
    it(attack.name, async () => {
      const e = await refusal(repo(attack.files()));
      expect(e.reason).toBe(attack.reason);
      expect(e.message).toMatch(attack.message);
      expect(e.message).toMatch(/vendor it into the repository instead/);
      expect(requests).toEqual([]);
    });
  }
});

describe("reading outside the checkout: refused", () => {
  for (const attack of ESCAPES) {
    it(attack.name, async () => {
      const e = await refusal(repo(attack.files()));
      expect(e.reason).toBe(attack.reason);
      expect(e.message).toMatch(attack.message);
    });
  }
});

describe("nothing executes", () => {
  it("an exec KRM function as a transformer: refused by the builtin-only plugin config, the payload never runs", async () => {
    const e = await refusal(
      repo({
        "kustomization.yaml": "resources: [cm.yaml]\ntransformers: [fn.yaml]\n",
        "cm.yaml": CM,
        "fn.yaml": "apiVersion: example.com/v1\nkind: Touch\nmetadata:\n  name: t\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./touch.sh\n",
        "touch.sh": { executable: `#!/bin/sh\ntouch ${marker}\n` },
      }),
    );
    expect(e.reason).toBe("BuildFailed");
    expect(existsSync(marker)).toBe(false);
  });

  it("a git ext:: transport URL: never handed to git (there is none on the service's PATH)", async () => {
    await refusal(repo({ "kustomization.yaml": `resources:\n  - "git::ext::sh -c touch% ${marker}"\n` }));
    expect(existsSync(marker)).toBe(false);
  });

  it("Helm charts: refused, no helm is run and no chart repository asked", async () => {
    const e = await refusal(repo({ "kustomization.yaml": `helmCharts:\n  - name: app\n    repo: ${base}/charts\n    version: 1.0.0\n` }));
    expect(e.reason).toBe("BuildFailed");
    expect(e.message).toMatch(/helmCharts: Helm charts are not rendered by tenantry/);
    expect(requests).toEqual([]);
  });
});

describe("bounded", () => {
  it("a cycle among kustomizations", async () => {
    const e = await refusal(repo({ "kustomization.yaml": "resources: [a]\n", "a/kustomization.yaml": "resources: [../b]\n", "b/kustomization.yaml": "resources: [../a]\n" }));
    expect(e.reason).toBe("BuildFailed");
    expect(e.message).toBe("kustomizations form a cycle: a -> b -> a");
  });

  it("an oversized checkout is refused before anything is read (a sparse file: no disk used)", async () => {
    const e = await refusal(repo({ "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": CM, "blob.bin": { sparse: 300 * 1024 * 1024 } }));
    expect(e.reason).toBe("CheckoutTooLarge");
    expect(e.message).toMatch(/more than 268435456 bytes/);
  });

  it("an oversized checkout is refused when it is built in parts too (one part walks it; the others wait for that)", async () => {
    const parts: Record<string, File> = {};
    for (let i = 0; i < 6; i++) {
      parts[`p${String(i)}/kustomization.yaml`] = "resources: [cm.yaml]\n";
      parts[`p${String(i)}/cm.yaml`] = CM.replace("local", `local-${String(i)}`);
    }
    const root = repo({ "kustomization.yaml": `resources: [${Array.from({ length: 6 }, (_, i) => `p${String(i)}`).join(", ")}]\n`, ...parts, "blob.bin": { sparse: 300 * 1024 * 1024 } });
    const e = await buildSplit(root, ".").then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(BuildError);
    expect((e as BuildError).reason).toBe("CheckoutTooLarge");
    // Without the blob the same parts build.
    truncateSync(join(root, "blob.bin"), 0);
    expect((await buildSplit(root, ".")).map((o) => o.metadata.name).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `local-${String(i)}`));
  });

  it("an oversized render is refused", async () => {
    const e = await refusal(repo({ "kustomization.yaml": "configMapGenerator:\n  - name: big\n    files: [big.txt]\n", "big.txt": "x".repeat(200_000) }), { limits: { renderBytes: 100_000 } });
    expect(e.reason).toBe("RenderTooLarge");
  });

  it("a build that takes too long is stopped (its helper killed) and the next build still works", async () => {
    // Thousands of objects: a build of them takes far longer than 1 ms even in a warm helper.
    const many = Array.from({ length: 3000 }, (_, i) => CM.replace("local", `cm-${String(i)}`)).join("---\n");
    const slow = repo({ "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": many });
    const e = await refusal(slow, { timeoutMs: 1 });
    expect(e.reason).toBe("BuildTimeout");
    const root = repo({ "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": CM });
    expect(e.message).toMatch(/took longer than 0 s: it was stopped/);
    expect(await buildObjects({ root, dir: "." })).toEqual([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "local" } }]);
  });

  it("a build that needs more memory than the helper may have: the helper dies, the build fails, the next one works", async () => {
    const root = repo({ "kustomization.yaml": "configMapGenerator:\n  - name: huge\n    files: [huge.bin]\n", "huge.bin": { sparse: 3 * 1024 * 1024 * 1024 } });
    const e = await refusal(root, { limits: { checkoutBytes: 0 } });
    expect(e.reason).toBe("BuildFailed");
    const ok = repo({ "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": CM });
    expect(await buildObjects({ root: ok, dir: "." })).toHaveLength(1);
  });

  it("a cancelled build stops at once", async () => {
    const controller = new AbortController();
    const root = repo({ "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": CM });
    const pending = refusal(root, { signal: controller.signal });
    controller.abort();
    expect((await pending).message).toMatch(/was cancelled/);
  });
});

describe("the ordinary repo still builds", () => {
  it("local bases, generators, patches and files from elsewhere in the checkout", async () => {
    const objects = await buildObjects({
      root: repo({
        "kustomization.yaml": "resources: [app]\n",
        "app/kustomization.yaml": "resources: [../base]\nconfigMapGenerator:\n  - name: cfg\n    files: [../shared/greeting.txt]\npatches:\n  - path: patch.yaml\n",
        "app/patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\ndata:\n  patched: \"yes\"\n",
        "base/kustomization.yaml": "resources: [cm.yaml]\n",
        "base/cm.yaml": CM,
        "shared/greeting.txt": "hello",
      }),
      dir: ".",
    });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(["ConfigMap/cfg-8gm779b9d2", "ConfigMap/local"].sort());
  });
});
