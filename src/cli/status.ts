// tenantry status: one row per sync object in the cluster, GitSyncs or (engine flux) Flux's
// Kustomizations and GitRepositories (ready, revision, last transition, inventory size, the
// team's fullest quota), then what the policy engines enforce and every
// gap (src/views/enforcement.ts); --watch re-renders every 2 s until Ctrl-C.

import type { CommandModule } from "yargs";
import { formatData, formatTable, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";
import { safeLine } from "../model/safe-text.js";

const DEFAULT_FORMAT: OutputFormat = "table";
const WATCH_INTERVAL_MS = 2000;

interface Args {
  output: OutputFormat;
  kubeconfig?: string;
  watch: boolean;
}

export const statusCommand: CommandModule<object, Args> = {
  command: "status",
  describe: "Every GitSync (or Flux Kustomization and GitRepository) in the cluster: ready, revision, age, objects, fullest quota",
  builder: (y) =>
    y
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig to use (default: KUBECONFIG, ~/.kube/config)" })
      .option("watch", { alias: "w", type: "boolean", default: false, describe: "Re-render every 2 s until Ctrl-C" }),
  handler: async (args) => {
    const [{ loadAccess }, { gatherEnforcement, gatherStatus }, { STATUS_COLUMNS, statusCells }, { enforcementLines }, { configuredEngine }] = await Promise.all([
      import("../cluster/access.js"),
      import("../views/gather.js"),
      import("../views/status.js"),
      import("../views/enforcement.js"),
      import("../views/engine.js"),
    ]);
    const kc = loadAccess(args.kubeconfig);
    // Inside an admin repo its spec.engine says which sync objects to read; elsewhere the cluster is asked.
    const engine = configuredEngine();
    const render = async (): Promise<string> => {
      const [rows, enforcement] = await Promise.all([gatherStatus(kc, engine === undefined ? {} : { engine }), gatherEnforcement(kc)]);
      if (args.output !== "table") {
        return formatData(args.output, { gitsyncs: rows.filter((r) => r.kind === "GitSync"), flux: rows.filter((r) => r.kind !== "GitSync"), enforcement });
      }
      const lines = enforcementLines(enforcement).map((l) => `${safeLine(l)}\n`).join("");
      const none = engine === "flux" ? "No Flux Kustomizations or GitRepositories in the cluster.\n" : "No GitSyncs in the cluster.\n";
      const table = rows.length === 0 ? none : formatTable(STATUS_COLUMNS, rows.map(statusCells));
      return lines === "" ? table : `${table}\n${lines}`;
    };
    if (!args.watch) {
      out(await render());
      return;
    }
    const { watchLoop } = await import("../views/watch.js");
    const stop = new AbortController();
    const onSignal = (): void => {
      stop.abort();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const tty = process.stdout.isTTY;
    try {
      await watchLoop(render, {
        intervalMs: WATCH_INTERVAL_MS,
        signal: stop.signal,
        write: (frame) => {
          if (tty) out(`\x1b[H\x1b[2JEvery ${WATCH_INTERVAL_MS / 1000}s: tenantry status    ${new Date().toISOString()}\n\n${frame}`);
          else out(args.output === "yaml" ? `---\n${frame}` : frame);
        },
        describeError: (e) => `tenantry: error: ${safeLine(e instanceof Error ? e.message : String(e))}`,
      });
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
