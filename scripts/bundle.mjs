// Runs after scripts/precompile.mjs (`npm run build`): bundles the CLI into lib/ with esbuild,
// the file bin/tenantry.js runs. Node then loads a few files instead of some 400 (dist/, yargs,
// yaml, ajv's runtime, handlebars' runtime): a create-team in a 1000-team repo spent a third of
// its time loading modules. Commands stay lazily loaded: each dynamic import is its own chunk,
// so `tenantry --help` never loads the cluster client. lib/ sits beside dist/ (one level below
// the package root, where paths.ts finds it) and gets dist/'s compiled schemas and templates.
import { build } from "esbuild";
import { copyFileSync, readFileSync, rmSync } from "node:fs";
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

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const lib = join(root, "lib");
rmSync(lib, { recursive: true, force: true });
const result = await build({
  entryPoints: { main: join(root, "dist", "cli", "main.js") },
  outdir: lib,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // The CommonJS packages inside call require(): give the bundle one.
  banner: { js: 'import { createRequire as tenantryCreateRequire } from "node:module"; const require = tenantryCreateRequire(import.meta.url);' },
  logLevel: "warning",
  metafile: true,
  plugins: [yamlDebugOff],
});
for (const [from, to] of [
  ["dist/model/schemas.compiled.cjs", "schemas.compiled.cjs"],
  ["dist/render/templates.compiled.cjs", "templates.compiled.cjs"],
]) {
  copyFileSync(join(root, from), join(lib, to));
}
const files = Object.keys(result.metafile.outputs).length;
process.stdout.write(`bundle: lib/ (${files} files)\n`);
