// Names a controlplane team may not have (model/controlplane.ts): KubeFlex would use a system
// namespace as <team>-system, or the team's GitSync and deploy key in tenantry-system would be
// the admin repo's. A namespace team may still be named so.

import { expect, it } from "vitest";
import { controlPlaneTeamNameProblems } from "../../src/model/controlplane.js";

it.each(["kube", "kubeflex", "flux", "gatekeeper", "tenantry", "admin"])("refuses %s as a controlplane team, naming why", (name) => {
  const problems = controlPlaneTeamNameProblems(name);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(new RegExp(`^team name "${name}" cannot have a control plane: .*choose another name$`));
});

it.each(["web", "payments", "kube2", "fluxer"])("accepts %s", (name) => {
  expect(controlPlaneTeamNameProblems(name)).toEqual([]);
});
