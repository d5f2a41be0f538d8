// The admin repo's app templates (apps/<template>/template.yaml), read for rendering and
// checking. A template that does not parse is kept out of the catalog with its problems: it
// matters only to the instances of it (and to validate).

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../errors.js";
import { type AppCatalog, type AppTemplate, APPS_DIR, parseAppTemplate, templateFile } from "../model/apps.js";
import { readRepoFile } from "./changes.js";

export interface ReadCatalog {
  readonly catalog: AppCatalog;
  /** Per template that did not parse (or has no template.yaml), its problems. */
  readonly broken: ReadonlyMap<string, readonly string[]>;
}

export function readAppCatalog(root: string): ReadCatalog {
  const dir = join(root, APPS_DIR);
  const catalog = new Map<string, AppTemplate>();
  const broken = new Map<string, readonly string[]>();
  if (!existsSync(dir)) return { catalog, broken };
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!e.isDirectory()) continue;
    const text = readRepoFile(root, templateFile(e.name));
    if (text === null) {
      broken.set(e.name, [`${APPS_DIR}/${e.name}/ has no ${templateFile(e.name).slice(APPS_DIR.length + e.name.length + 2)}: an app template declares its parameters and policy there`]);
      continue;
    }
    try {
      catalog.set(e.name, parseAppTemplate(text, e.name));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      broken.set(e.name, err.problems);
    }
  }
  return { catalog, broken };
}
