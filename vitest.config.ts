// Five projects, by what a test runs:
// - `unit`: no child process at all (pure cores, files in temp dirs, in-process loopback servers);
// - `cli`: real programs: the CLI as a process, git, ssh-keygen, the pinned kustomize and gator;
// - `cluster`: a real local control plane, started once per run by the global setup. Its files
//   share that cluster and its tenantry-system (cluster/common, the admin GitSync, the admin
//   deploy key), so they run one at a time.
// - `faults`: the fault table (docs/reliability.md): each file starts and stops a control plane
//   of its own (it restarts the API server, stops etcd, cuts the agent off), so it needs no
//   global setup and never disturbs the shared one. One file at a time: vitest runs the files
//   of projects without file parallelism in one sequential group after the parallel ones, so
//   they never run beside a `cluster` file either. `vitest run --project faults` starts no
//   Gatekeeper cluster.
// - `flux`: the flux engine against the real Flux controllers: one control plane started with
//   `--with-flux` by its global setup, files one at a time (they share flux-system).
// `npm test` runs all five; `npm run test:unit` only the quick one. A test file is named after
// the module it tests (a fault file after the fault it injects).
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
      {
        test: {
          name: "flux",
          include: ["test/flux/**/*.test.ts"],
          globalSetup: ["test/flux/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
