// The template engine: Handlebars in strict mode (a missing variable is an error, not an
// empty string) with no HTML escaping. Pure: templates come in as strings, files go out
// as a Map; reading templates from disk is repo/templates.ts's job.

//
// tenantry's own templates are compiled when tenantry is built (scripts/precompile.mjs writes
// Handlebars' precompiled specs to dist/render/templates.compiled.cjs, keyed by the digest of
// each source): a command then only runs them. A template with no compiled spec (run from the
// sources, or one given at run time) is compiled here, as before, with the same options.

import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import Handlebars from "handlebars";
import { runsCompiled } from "../paths.js";
import { normalizeYaml } from "./yaml.js";

const require = createRequire(import.meta.url);

/** The options every template is compiled with (here and in scripts/precompile.mjs). */
export const COMPILE_OPTIONS = { strict: true, noEscape: true } as const;

/** A template source's name among the precompiled ones. */
export function templateKey(source: string): string {
  return `t${createHash("sha256").update(source).digest("hex").slice(0, 24)}`;
}

let ahead: Readonly<Record<string, TemplateSpecification>> | undefined;

/** The template function of `source`: precompiled when the build compiled it, else compiled now. */
function templateOf(hb: typeof Handlebars, source: string): HandlebarsTemplateDelegate {
  if (ahead === undefined) {
    try {
      ahead = runsCompiled() ? (require("./templates.compiled.cjs") as Record<string, TemplateSpecification>) : {};
    } catch {
      ahead = {};
    }
  }
  const spec = ahead[templateKey(source)];
  return spec === undefined ? hb.compile(source, COMPILE_OPTIONS) : hb.template(spec);
}

/** Template sources by path relative to their template directory (e.g. "namespace.yaml.hbs"). */
export type TemplateSet = ReadonlyMap<string, string>;

/** A rendered tree: file contents by path relative to the tree's root. */
export type FileTree = Map<string, string>;

export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

function createEngine(partials: TemplateSet): typeof Handlebars {
  const hb = Handlebars.create();
  // A value dropped into YAML as a JSON string is always a valid YAML scalar.
  hb.registerHelper("quote", (value: unknown) => JSON.stringify(String(value)));
  hb.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  // A list written inline, e.g. a flow sequence's items: `[{{join names ", "}}]`.
  hb.registerHelper("join", (values: unknown, separator: unknown) => (Array.isArray(values) ? values.map(String).join(typeof separator === "string" ? separator : ", ") : ""));
  // A multi-line text under a YAML block scalar (`key: |`): every non-empty line indented.
  hb.registerHelper("indent", (value: unknown, width: unknown) => {
    const pad = " ".repeat(typeof width === "number" ? width : 0);
    return String(value)
      .replace(/\n$/, "")
      .split("\n")
      .map((line) => (line === "" ? "" : pad + line))
      .join("\n");
  });
  for (const [path, source] of partials) {
    hb.registerPartial(path.replace(/\.hbs$/, ""), templateOf(hb, source));
  }
  return hb;
}

const engines = new WeakMap<TemplateSet, typeof Handlebars>();

function engineFor(partials: TemplateSet): typeof Handlebars {
  let hb = engines.get(partials);
  if (hb === undefined) {
    hb = createEngine(partials);
    engines.set(partials, hb);
  }
  return hb;
}

const compiledCache = new WeakMap<TemplateSet, Map<string, HandlebarsTemplateDelegate>>();

function compiled(hb: typeof Handlebars, templates: TemplateSet, path: string, source: string): HandlebarsTemplateDelegate {
  let cache = compiledCache.get(templates);
  if (cache === undefined) {
    cache = new Map();
    compiledCache.set(templates, cache);
  }
  let fn = cache.get(path);
  if (fn === undefined) {
    fn = templateOf(hb, source);
    cache.set(path, fn);
  }
  return fn;
}

/**
 * Renders every template in `templates` with `context`. A `.hbs` file is rendered and loses
 * its suffix, other files are copied; YAML output is normalised (`normalize`); a file that renders to
 * nothing but white space is left out (that is how a template is made optional).
 */
export function renderTree(templates: TemplateSet, partials: TemplateSet, context: object, prefix = "", normalize: (text: string, source: string) => string = normalizeYaml): FileTree {
  const hb = engineFor(partials);
  const out: FileTree = new Map();
  for (const [path, source] of [...templates].sort(([a], [b]) => a.localeCompare(b))) {
    let text = source;
    let target = path;
    if (path.endsWith(".hbs")) {
      target = path.slice(0, -".hbs".length);
      try {
        text = compiled(hb, templates, path, source)(context);
      } catch (e) {
        throw new TemplateError(`template ${path}: ${(e as Error).message.split("\n")[0] ?? ""}`);
      }
    }
    if (text.trim() === "") continue;
    if (/\.ya?ml$/.test(target)) {
      try {
        text = normalize(text, `template ${path}`);
      } catch (e) {
        throw new TemplateError((e as Error).message);
      }
    }
    out.set(prefix + target, text);
  }
  return out;
}
