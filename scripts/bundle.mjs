// Runs after scripts/precompile.mjs (`npm run build`): bundles the CLI into lib/ with esbuild.
// Node then loads one file instead of some 400 (dist/, yargs, yaml, ajv's runtime, handlebars'
// runtime): a create-team in a 1000-team repo spent a third of its time loading modules.
//   lib/tenantry.cjs   the CLI as one CommonJS file, which bin/tenantry.js runs with a V8 code
//                      cache (lib/launch.js, src/launch/code-cache.ts; Node 20 caches no ES
//                      modules). Commands stay lazily evaluated: esbuild wraps each dynamically
//                      imported module, so `tenantry --help` never runs the cluster client.
//   lib/bundle-id      a digest of lib/tenantry.cjs: V8 checks a cache against its source's
//                      length only, so the cache is kept per bundle.
//   lib/kube-client.cjs @kubernetes/client-node (14 MB, read only to load a kubeconfig): a file
//                      of its own, so the CLI's file stays small to read.
//   lib/launch.js      the loader bin/tenantry.js imports.
// lib/ sits beside dist/ (one level below the package root, where paths.ts finds it) and gets
// dist/'s compiled schemas and templates.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// yaml's parser and composer read process.env.LOG_TOKENS / LOG_STREAM (debug switches) on
// every token and document; process.env is a getenv call into C++ each time. Planning 1000 teams
// lexes 12 MB of rendered YAML: about 2.4 million reads, a fifth of the parse. The bundle reads
// them as off. A yaml upgrade that changes those lines fails the build here, to be looked at.
const YAML_DEBUG_SWITCHES = [
  { file: /[\\/]yaml[\\/]dist[\\/]parse[\\/]parser\.js$/, read: "node_process.env.LOG_TOKENS" },
  { file: /[\\/]yaml[\\/]dist[\\/]compose[\\/]composer\.js$/, read: "node_process.env.LOG_STREAM" },
];
const yamlDebugOff = {
  name: "yaml-debug-off",
  setup(b) {
    const done = new Set();
    for (const { file, read } of YAML_DEBUG_SWITCHES) {
      b.onLoad({ filter: file }, (args) => {
        const source = readFileSync(args.path, "utf8");
        if (source.split(read).length !== 2) throw new Error(`${args.path}: expected one ${read} (yaml changed: look at scripts/bundle.mjs)`);
        done.add(read);
        return { contents: source.replace(read, "false"), loader: "js" };
      });
    }
    // A yaml whose files moved would leave the switches as they are without a word: say so.
    b.onEnd(() => {
      const missed = YAML_DEBUG_SWITCHES.filter((s) => !done.has(s.read)).map((s) => s.read);
      if (missed.length > 0) throw new Error(`yaml-debug-off: no file of yaml read ${missed.join(", ")} (yaml changed: look at scripts/bundle.mjs)`);
    });
  },
};

// string-width (three copies, under yargs, cliui and wrap-ansi) builds an Intl.Segmenter and
// Unicode-property regular expressions (\p{RGI_Emoji}) when it is evaluated: some 15 ms of every
// start, for the help text's column widths only. Its importers get a stand-in that evaluates the
// real module on the first call (esbuild wraps a require()d ES module lazily). The build fails
// if string-width stops being one default export.
const LAZY = "tenantry-lazy";
const lazyStringWidth = {
  name: "lazy-string-width",
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === LAZY) return undefined;
      const real = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: LAZY });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: LAZY };
    });
    b.onLoad({ filter: /.*/, namespace: LAZY }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!/^export default function stringWidth\(/m.test(source) || /^export (?!default function stringWidth\()/m.test(source)) {
        throw new Error(`${args.path}: expected string-width's one default export, function stringWidth (look at scripts/bundle.mjs)`);
      }
      return {
        contents: `let real;\nexport default function stringWidth(...args) {\n  real ??= require(${JSON.stringify(args.path)}).default;\n  return real(...args);\n}\n`,
        loader: "js",
        resolveDir: dirname(args.path),
      };
    });
  },
};

// The kubeconfig loader's import() of @kubernetes/client-node becomes a require() of its own
// bundle: an import() inside the code-cached script would resolve against the working directory.
const KUBE_CLIENT = "./kube-client.cjs";
const kubeClientApart = {
  name: "kube-client-apart",
  setup(b) {
    b.onResolve({ filter: /^@kubernetes\/client-node$/ }, () => ({ path: KUBE_CLIENT, external: true }));
  },
};
const KUBE_CLIENT_IMPORT = `import("${KUBE_CLIENT}")`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const lib = join(root, "lib");
rmSync(lib, { recursive: true, force: true });
mkdirSync(lib);
const common = { bundle: true, platform: "node", target: "node20", logLevel: "warning" };
const result = await build({
  ...common,
  entryPoints: [join(root, "dist", "cli", "main.js")],
  outfile: join(lib, "tenantry.cjs"),
  format: "cjs",
  // The bundle's modules ask import.meta.url where they are (paths.ts, the compiled schemas and templates).
  define: { "import.meta.url": "__tenantryUrl" },
  // "use strict" first: the ES modules were strict, and a directive after the const is none.
  banner: { js: '"use strict";\nconst __tenantryUrl = require("node:url").pathToFileURL(__filename).href;' },
  metafile: true,
  write: false,
  plugins: [yamlDebugOff, kubeClientApart, lazyStringWidth],
});
const [cli] = result.outputFiles;
const imports = cli.text.split(KUBE_CLIENT_IMPORT).length - 1;
if (imports !== 1) throw new Error(`lib/tenantry.cjs: expected one ${KUBE_CLIENT_IMPORT}, found ${imports} (look at scripts/bundle.mjs)`);
const text = cli.text.replace(KUBE_CLIENT_IMPORT, `Promise.resolve().then(() => require("${KUBE_CLIENT}"))`);
// esbuild turns the import() of a bundled module into a lazy require; one it leaves (of a module
// outside the bundle, `node:fs` say) fails under the launcher's vm.Script: import it statically.
const left = text.match(/\bimport\([^)]{0,80}\)/);
if (left !== null) throw new Error(`lib/tenantry.cjs holds ${left[0]}, which cannot run in the code-cached bundle: import that module statically (look at scripts/bundle.mjs)`);
writeFileSync(cli.path, text);
writeFileSync(join(lib, "bundle-id"), `${createHash("sha256").update(text).digest("hex").slice(0, 16)}\n`);
await build({ ...common, stdin: { contents: 'export * from "@kubernetes/client-node";', resolveDir: root, sourcefile: "kube-client.js" }, outfile: join(lib, "kube-client.cjs"), format: "cjs" });
await build({ ...common, entryPoints: [join(root, "dist", "launch", "code-cache.js")], outfile: join(lib, "launch.js"), format: "esm" });
for (const [from, to] of [
  ["dist/model/schemas.compiled.cjs", "schemas.compiled.cjs"],
  ["dist/render/templates.compiled.cjs", "templates.compiled.cjs"],
]) {
  copyFileSync(join(root, from), join(lib, to));
}
process.stdout.write(`bundle: lib/tenantry.cjs (${Object.keys(result.metafile.inputs).length} modules, ${(text.length / 1024).toFixed(0)} KiB), lib/kube-client.cjs, lib/launch.js\n`);
