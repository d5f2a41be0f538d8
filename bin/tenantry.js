#!/usr/bin/env node
// The `tenantry` command: a thin launcher for the bundled CLI in lib/ (scripts/bundle.mjs,
// built from dist/ by `npm run build`).
import { main } from "../lib/main.js";

process.exitCode = await main(process.argv.slice(2));
