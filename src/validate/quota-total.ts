// A team's tier is its total (issue 20): the ResourceQuotas of its overlay, one per namespace,
// must not add up to more than the tier, nor leave one of its namespaces without a bound the
// tier sets. create-team renders them so (model/namespaces.ts splitQuota); this catches hand
// edits of the overlay. Pure: objects in, problems out.

import type { ClusterConfig } from "../model/cluster-config.js";
import { teamNamespaces } from "../model/namespaces.js";
import { type Located, type Problem, problemAt } from "../model/problem.js";
import { quantityValue } from "../model/quantity.js";
import { namespaceNames, type TeamSpec } from "../model/team-spec.js";

function hardOf(l: Located): Readonly<Record<string, unknown>> {
  const hard = (l.object as { spec?: { hard?: unknown } }).spec?.hard;
  return typeof hard === "object" && hard !== null ? (hard as Record<string, unknown>) : {};
}

/** Every way `team`'s overlay quotas exceed its tier (`objects`: the admin repo's, located; call it only for an overlay that built). */
export function quotaTotalProblems(objects: readonly Located[], spec: TeamSpec, config: ClusterConfig): Problem[] {
  const tier = config.tiers[spec.tier];
  if (tier === undefined || spec.isolation !== "namespace") return [];
  const overlay = `cluster/${spec.name}`;
  const quotas = objects.filter((l) => l.team === spec.name && l.object.apiVersion === "v1" && l.object.kind === "ResourceQuota");
  const problems: Problem[] = [];
  const at = (message: string): Problem => ({ file: null, overlay, object: null, message });
  for (const ns of teamNamespaces(spec.name, namespaceNames(spec))) {
    if (!quotas.some((l) => l.object.metadata.namespace === ns)) problems.push(at(`namespace ${ns} of team ${spec.name} has no ResourceQuota: nothing bounds it within tier ${spec.tier}; run tenantry create-team ${spec.name} to render it again`));
  }
  for (const [key, value] of Object.entries(tier.quota)) {
    const limit = quantityValue(value);
    if (limit === undefined) continue;
    let sum = 0;
    for (const l of quotas) {
      const v = hardOf(l)[key];
      if (v === undefined) problems.push(problemAt(l, `sets no ${key}: namespace ${l.object.metadata.namespace ?? "?"} is unbounded while tier ${spec.tier} is team ${spec.name}'s total ${value}; run tenantry create-team ${spec.name} to render it again`));
      // A value that is no quantity is the schema's to report.
      else sum += quantityValue(v) ?? 0;
    }
    // Parts are rounded down, so an exact sum never exceeds; the margin absorbs float error.
    if (sum > limit * (1 + 1e-9)) {
      problems.push(at(`the ResourceQuotas of team ${spec.name} add up to more ${key} than tier ${spec.tier} allows (${value}): the tier is the team's total over its namespaces; run tenantry create-team ${spec.name} to render them again`));
    }
  }
  return problems;
}
