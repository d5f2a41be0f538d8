// The file `tenantry create-team --from` reads: many teams, each with create-team's options.
//
//   apiVersion: tenantry.dev/v1alpha1
//   kind: TeamList
//   metadata:
//     name: onboarding            # any name: what the list is for
//   spec:
//     teams:
//       - name: payments
//         tier: large              # every field but name is optional, as on the command line
//         namespaces: [api, web]
//         allowFrom: [frontend]
//         nodePool: pool=payments

import { parseDocument } from "yaml";
import { ValidationError } from "../errors.js";
import { schemaProblems, tenantryDocumentSchema } from "./schema.js";
import type { TeamOptions } from "./team-spec.js";
import { documentValueOf } from "./yaml-value.js";

const strings = { type: "array", items: { type: "string" } } as const;

const schema = tenantryDocumentSchema("TeamList", {
  type: "object",
  additionalProperties: false,
  required: ["teams"],
  properties: {
    teams: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name"],
        properties: {
          name: { type: "string" },
          tier: { type: "string" },
          repoUrl: { type: "string" },
          branch: { type: "string" },
          interval: { type: "string" },
          allowFrom: strings,
          nodePool: { type: "string" },
          registries: strings,
          owners: strings,
          extensions: strings,
          isolation: { type: "string" },
          controlPlaneType: { type: "string" },
          backend: { type: "string" },
          namespaces: strings,
        },
      },
    },
  },
});

type RawEntry = { readonly name: string } & Omit<TeamOptions, "apps">;

/** The teams of a TeamList file, in its order; throws a ValidationError naming every problem. */
export function parseTeamList(text: string, file: string): { readonly team: string; readonly options: TeamOptions }[] {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new ValidationError([`${file}: malformed YAML (${doc.errors[0]?.message.split("\n")[0] ?? "parse error"}): fix the file`]);
  const value = documentValueOf(doc, file);
  const problems = schemaProblems(file, schema, value);
  if (problems.length > 0) throw new ValidationError(problems);
  const teams = (value as { spec: { teams: RawEntry[] } }).spec.teams;
  if (teams.length === 0) throw new ValidationError([`${file}: spec.teams is empty: list at least one team`]);
  return teams.map(({ name, ...options }) => ({ team: name, options }));
}
