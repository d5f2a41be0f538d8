// The import rules of src/ (docs/architecture.md draws them), checked by `npm run lint`:
//   - no import cycles;
//   - imports point down the layers, never up, never sideways except the edges listed;
//   - the pure cores (model/, render/, plan/) import nothing that does I/O;
//   - the base modules (src/*.ts) import only each other.

/** Layer of each folder: a folder may import folders of a higher number (lower in the picture). */
const LAYERS = {
  cli: 1,
  bootstrap: 2,
  import: 2,
  generate: 2,
  review: 2,
  sync: 2,
  agent: 2,
  keys: 2,
  access: 2,
  views: 2,
  validate: 2,
  plan: 3,
  repo: 3,
  build: 3,
  cluster: 3,
  engines: 3,
  policies: 3,
  network: 3,
  render: 4,
  model: 4,
};

/** Edges between folders of the same layer that are allowed (from -> to). */
const SIDEWAYS = {
  agent: ["sync"], // the agent runs reconciles
  keys: ["sync"], // keys rotate --sync-now runs one
  bootstrap: ["keys"], // bootstrap makes, registers and pins the admin deploy key
  render: ["model"], // rendering reads the vocabulary
};

/** Node built-ins and packages that do I/O: never in a pure core. */
const IO = "^(node:)?(fs|fs/promises|child_process|net|http|https|http2|tls|dgram|worker_threads|cluster)$|^(simple-git|@kubernetes/client-node|hpagent|socks-proxy-agent|prom-client)";

const folders = Object.keys(LAYERS);
const layerRules = folders.map((from) => {
  const allowed = new Set([from, ...(SIDEWAYS[from] ?? [])]);
  const notBelow = folders.filter((to) => LAYERS[to] <= LAYERS[from] && !allowed.has(to));
  return {
    name: `layers-${from}`,
    comment: `src/${from}/ (layer ${LAYERS[from]}) may import only lower layers${SIDEWAYS[from] ? ` and ${SIDEWAYS[from].join(", ")}` : ""}`,
    severity: "error",
    from: { path: `^src/${from}/` },
    to: { path: `^src/(${notBelow.join("|")})/` },
  };
});

export default {
  forbidden: [
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
    ...layerRules.filter((r) => r.to.path !== "^src/()/"),
    {
      name: "base-imports-base",
      comment: "errors, paths, toolchain and concurrency sit below every folder",
      severity: "error",
      from: { path: "^src/[^/]+\\.ts$" },
      to: { path: "^src/[^/]+/" },
    },
    {
      name: "import-core-pure",
      comment: "import/ is pure but for its reader (read.ts): layouts in, a report and team specs out; it reads only the vocabulary",
      severity: "error",
      from: { path: "^src/import/", pathNot: "^src/import/read\\.ts$" },
      to: { path: `${IO}|^src/(?!import/|model/|errors\\.ts$)` },
    },
    {
      name: "plan-imports-model",
      comment: "plan/ is pure: base and head in, a Plan out; it reads only the vocabulary",
      severity: "error",
      from: { path: "^src/plan/" },
      to: { path: "^src/", pathNot: "^src/(plan|model)/|^src/errors\\.ts$" },
    },
    {
      name: "network-core-no-io",
      comment: "network/ is pure but for its edge: netcheck.ts runs tenantry-netcheck, analyze.ts composes",
      severity: "error",
      from: { path: "^src/network/", pathNot: "^src/network/(netcheck|analyze)\\.ts$" },
      to: { path: IO, pathNot: "^src/" },
    },
    {
      name: "network-core-pure-imports",
      comment: "network/'s pure modules read only the vocabulary and each other",
      severity: "error",
      from: { path: "^src/network/", pathNot: "^src/network/(netcheck|analyze)\\.ts$" },
      to: { path: "^src/", pathNot: "^src/(network|model)/|^src/errors\\.ts$" },
    },
    {
      name: "pure-cores-no-io",
      comment: "model/, render/ and plan/ do no I/O: the edges (repo, build, cluster, review, ...) do",
      severity: "error",
      from: { path: "^src/(model|render|plan)/" },
      to: { path: IO, pathNot: "^src/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
