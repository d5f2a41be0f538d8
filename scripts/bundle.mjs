// Runs after scripts/precompile.mjs (`npm run build`): bundles the CLI into lib/ with esbuild,
// the file bin/tenantry.js runs. Node then loads a few files instead of some 400 (dist/, yargs,
// yaml, ajv's runtime, handlebars' runtime): a create-team in a 1000-team repo spent a third of
// its time loading modules. Commands stay lazily loaded: each dynamic import is its own chunk,
// so `tenantry --help` never loads the cluster client. lib/ sits beside dist/ (one level below
// the package root, where paths.ts finds it) and gets dist/'s compiled schemas and templates.
import { build } from "esbuild";
import { copyFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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
});
for (const [from, to] of [
  ["dist/model/schemas.compiled.cjs", "schemas.compiled.cjs"],
  ["dist/render/templates.compiled.cjs", "templates.compiled.cjs"],
]) {
  copyFileSync(join(root, from), join(lib, to));
}
const files = Object.keys(result.metafile.outputs).length;
process.stdout.write(`bundle: lib/ (${files} files)\n`);
