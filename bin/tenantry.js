#!/usr/bin/env node
// The `tenantry` command: a thin launcher for the bundled CLI in lib/ (scripts/bundle.mjs,
// built from dist/ by `npm run build`), run with a V8 code cache (src/launch/code-cache.ts).
import { fileURLToPath } from "node:url";
import { loadCli } from "../lib/launch.js";

const argv = process.argv.slice(2);
process.exitCode = await loadCli(fileURLToPath(new URL("../lib/tenantry.cjs", import.meta.url)), argv).main(argv);
