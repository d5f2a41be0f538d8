// Schema problems (src/model/schema.ts): one line each, the field names a file holds quoted
// as JSON strings, so a name with a quote or a line break cannot pass for a path or a message.

import { describe, expect, it } from "vitest";
import { pointerKeys, schemaProblems, showKey } from "../../src/model/schema.js";

const schema = {
  type: "object",
  additionalProperties: false,
  required: ["spec"],
  properties: { spec: { type: "object", additionalProperties: { type: "string" } } },
};

describe("schemaProblems", () => {
  it("quotes an unknown field's name as a JSON string", () => {
    expect(schemaProblems("f.yaml", schema, { spec: {}, 'lpt|S"': 1 })).toEqual(['f.yaml: (top level): unknown field "lpt|S\\""']);
    expect(schemaProblems("f.yaml", schema, { spec: {}, "a\nb": 1 })).toEqual(['f.yaml: (top level): unknown field "a\\nb"']);
  });

  it("quotes a missing field's name", () => {
    expect(schemaProblems("f.yaml", schema, {})).toEqual(['f.yaml: (top level): missing field "spec"']);
  });

  it("shows plain keys of the path bare and the others quoted", () => {
    expect(schemaProblems("f.yaml", schema, { spec: { "limits.cpu": 1, 'x"y': 2, "a/b": 3 } })).toEqual([
      "f.yaml: spec.limits.cpu: must be string",
      'f.yaml: spec."x\\"y": must be string',
      "f.yaml: spec.a/b: must be string",
    ]);
  });
});

describe("pointerKeys and showKey", () => {
  it("unescape a JSON pointer's keys", () => {
    expect(pointerKeys("")).toEqual([]);
    expect(pointerKeys("/spec/a~1b/c~0d")).toEqual(["spec", "a/b", "c~d"]);
  });

  it("show a key bare only when it is plain", () => {
    expect(showKey("tenantry.dev/pool")).toBe("tenantry.dev/pool");
    expect(showKey("a b")).toBe('"a b"');
    expect(showKey("")).toBe('""');
  });
});
