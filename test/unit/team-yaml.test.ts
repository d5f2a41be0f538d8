// normalizeTeamYaml (render/yaml.ts): normalizeYaml of a team's rendered file from a cache keyed
// by the text with the team's name masked. It must give exactly what normalizeYaml gives, for
// every text and every team name: where masking could change the reading (a name after a digit,
// dot or backslash, a name that begins a key normalizeYaml orders, a text that already holds the
// stand-in) it normalises the whole text. Each adversarial case below gives a different answer
// when that check is taken out (checked by hand); every overlay template is compared for a
// spread of team names.

import { describe, expect, it } from "vitest";
import type { TeamOptions } from "../../src/model/team-spec.js";
import { resolveTeamSpec } from "../../src/model/team-spec.js";
import { teamNameProblems } from "../../src/model/names.js";
import { teamContext } from "../../src/render/context.js";
import { overlayTemplates } from "../../src/render/controlplane.js";
import { renderTree } from "../../src/render/engine.js";
import { renderTeamOverlay, teamDir } from "../../src/render/repos.js";
import { normalizeTeamYaml, normalizeYaml, type TextMemo, withTeamYamlMemo } from "../../src/render/yaml.js";
import { templateSets, testConfig, testVersions } from "../helpers/render.js";

/** normalizeYaml's answer or its error message. */
function outcome(f: () => string): string {
  try {
    return f();
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

describe("normalizeTeamYaml", () => {
  const cases: [name: string, text: string][] = [
    // After a digit or dot the name makes a number (1e5 is printed 1e+5): no masking.
    ["e5", "a: 1e5\n"],
    ["e5", "a: 1.e5\n"],
    // A name that begins a key normalizeYaml orders first: masked, the key would keep its place.
    ["kind", "metadata: {}\nkind: x\napiVersion: v1\n"],
    ["ki", "metadata: {}\nkind: x\napiVersion: v1\n"],
    ["na", "metadata:\n  labels: {}\n  name: x\n"],
    // After a backslash the name is an escape sequence.
    ["nfoo", 'a: "\\nfoo"\n'],
    // The text already holds the stand-in of a two-letter name (x, then q).
    ["ab", "a: xq\nb: ab\n"],
    // Escapes and control characters could spell the stand-in or the name in the output.
    ["b", 'a: "\u0001"\n'],
    ["b", "a: \u0001\n"],
    ["ab", 'v: "x\\x71"\n'],
    ["ab", 'ab: 1\n"\\x61b": 2\n'],
    // Safe places, masked: plain, quoted, key, after : and /, in flow, in a comment.
    ["shop", "# team shop\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    team: \"shop\"\nspec:\n  users: [system:serviceaccount:shop:shop, 'shop']\n  url: ssh://git@example.com/acme/shop.git\n  shop: {a: shop}\n"],
    ["nu", "a: null\nb: nu\n"],
    ["t", "a: true\nb: t\n"],
    // Not YAML: the error of the whole text.
    ["shop", "a: [shop\n"],
    ["shop", "a: b: shop\n"],
  ];
  it.each(cases)("for team %s gives what normalizeYaml gives for %j", (name, text) => {
    expect(outcome(() => normalizeTeamYaml(name, text, "template x"))).toBe(outcome(() => normalizeYaml(text, "template x")));
    // Twice: the second answer comes from the cache.
    expect(outcome(() => normalizeTeamYaml(name, text, "template x"))).toBe(outcome(() => normalizeYaml(text, "template x")));
  });

  it("gives the same text for a name the cache learnt under another name of the same length", () => {
    const text = (n: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n  labels:\n    app.kubernetes.io/part-of: ${n}\n`;
    expect(normalizeTeamYaml("aaaa", text("aaaa"), "t")).toBe(normalizeYaml(text("aaaa"), "t"));
    expect(normalizeTeamYaml("bbbb", text("bbbb"), "t")).toBe(normalizeYaml(text("bbbb"), "t"));
    expect(normalizeTeamYaml("bbbb", text("bbbb"), "t")).toContain("name: bbbb");
  });
});

describe("withTeamYamlMemo", () => {
  it("asks the lasting memo for a masked text this process has not normalised, and only while it runs", () => {
    const asked: string[] = [];
    const memo: TextMemo = {
      parse: (text, parse) => {
        asked.push(text);
        return parse(text);
      },
    };
    const text = (n: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}-memo-probe\n`;
    expect(withTeamYamlMemo(memo, () => normalizeTeamYaml("abcdefg", text("abcdefg"), "t"))).toBe(normalizeYaml(text("abcdefg"), "t"));
    expect(asked).toEqual([text("xqqqqqq")]);
    // Known to this process now: the memo is not asked again; and outside withTeamYamlMemo never.
    expect(withTeamYamlMemo(memo, () => normalizeTeamYaml("gfedcba", text("gfedcba"), "t"))).toBe(normalizeYaml(text("gfedcba"), "t"));
    expect(normalizeTeamYaml("abcdefgh", text("abcdefgh"), "t")).toBe(normalizeYaml(text("abcdefgh"), "t"));
    expect(asked).toHaveLength(1);
  });
});

describe("a team's overlay", () => {
  // Names that begin special words, overlap fixed text of the templates (ten, team, tenantr(y),
  // cluster, spec), are one letter, start with a digit, or are the stand-in itself.
  const names = ["shop", "a", "o", "nu", "t", "tr", "f", "api", "spec", "ten", "team", "tenantr", "cluster", "e5", "x", "xq", "xqq", "q", "1a", "a-b", "default-team", "kind-team", "metadata-x"];
  const options: TeamOptions[] = [{}, { namespaces: ["api", "web"] }, { allowFrom: ["shop"] }, { tier: "large" }];
  for (const name of names) {
    it(`renders ${name}'s files as normalizeYaml would`, () => {
      expect(teamNameProblems(name)).toEqual([]);
      for (const opts of options) {
        if (opts.allowFrom?.includes(name) === true) continue;
        const spec = resolveTeamSpec(name, { repoUrl: `ssh://git@git.example.com/acme/${name}.git`, ...opts }, null, testConfig);
        const rendered = renderTeamOverlay(templateSets, testConfig, spec, testVersions);
        const whole = renderTree(overlayTemplates(templateSets.overlay).namespace, templateSets.partials, teamContext(testConfig, spec, testVersions), `${teamDir(name)}/`);
        expect(whole.size).toBeGreaterThan(5);
        for (const [path, text] of whole) expect(rendered.get(path), `${name} ${JSON.stringify(opts)} ${path}`).toBe(text);
      }
    });
  }
});
