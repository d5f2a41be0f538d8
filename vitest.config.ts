// Three projects, by what a test runs:
// - `unit`: no child process at all (pure cores, files in temp dirs, in-process loopback servers);
// - `cli`: real programs: the CLI as a process, git, ssh-keygen, the pinned kustomize and gator;
// - `cluster`: a real local control plane, started once per run by the global setup. Its files
//   share that cluster and its tenantry-system (cluster/common, the admin GitSync, the admin
//   deploy key), so they run one at a time.
// `npm test` runs all three; `npm run test:unit` only the quick one. A test file is named after
// the module it tests.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          name: "cli",
          include: ["test/cli/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          globalSetup: ["test/cluster/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
