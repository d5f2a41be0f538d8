// Where a controlplane team's deploy key lives (issue 19): it has no namespace on this cluster,
// so its Secret is tenantry-system/<team>-deploy-key, read by GitSync tenantry-system/<team>;
// the isolation comes from the argument or from the admin repo around the current directory.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isolationHere, keyTarget } from "../../src/keys/target.js";
import { formatTeamSpec, type TeamSpec } from "../../src/model/team-spec.js";
import { tempDir } from "../helpers/cli.js";

describe("a controlplane team's deploy key", () => {
  it("is Secret tenantry-system/<team>-deploy-key, read by GitSync tenantry-system/<team>", () => {
    expect(keyTarget("web", "tenantry", "controlplane")).toEqual({
      team: "web",
      label: "web",
      namespace: "tenantry-system",
      secretName: "web-deploy-key",
      gitSync: { namespace: "tenantry-system", name: "web" },
      pubPath: "cluster/web/deploy-key.pub",
    });
    expect(keyTarget("web", "tenantry", "namespace")).toMatchObject({ namespace: "web", gitSync: { namespace: "web", name: "web" } });
  });

  it("takes the isolation from the team.yaml of the admin repo around the current directory", () => {
    const root = tempDir();
    writeFileSync(join(root, "tenantry.yaml"), "kind: Cluster\n");
    mkdirSync(join(root, "cluster", "web"), { recursive: true });
    const spec: TeamSpec = {
      name: "web",
      tier: "small",
      repoUrl: "ssh://git@h/web.git",
      branch: "main",
      interval: "1m",
      allowFrom: [],
      nodePool: null,
      registries: [],
      owners: [],
      extensions: [],
      isolation: "controlplane",
      namespaces: [],
      apps: [],
      ageRecipients: [],
      controlPlane: { type: "k8s", backend: "shared" },
    };
    writeFileSync(join(root, "cluster", "web", "team.yaml"), formatTeamSpec(spec));
    expect(isolationHere("web", join(root, "cluster"))).toBe("controlplane");
    expect(isolationHere("other", root)).toBe("namespace");
    expect(isolationHere("web", tempDir())).toBe("namespace");
  });
});
