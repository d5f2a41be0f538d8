// tenantry status [team]: one row per sync object in the cluster, GitSyncs or (engine flux)
// Flux's Kustomizations and GitRepositories (ready, revision, last transition, inventory size,
// the team's fullest quota), the ControlPlanes of controlplane teams (KubeFlex), then what the
// policy engines enforce and every gap (src/views/enforcement.ts). With a team, only its rows:
// a controlplane team's GitSync is tenantry-system/<team> on the host, its quota read in its
// own API server. --watch re-renders every 2 s until Ctrl-C.

import type { CommandModule } from "yargs";
import { formatData, formatTable, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";
import { safeLine } from "../model/safe-text.js";

const DEFAULT_FORMAT: OutputFormat = "table";
const WATCH_INTERVAL_MS = 2000;

interface Args {
  team?: string;
  output: OutputFormat;
  kubeconfig?: string;
  watch: boolean;
}

export const statusCommand: CommandModule<object, Args> = {
  command: "status [team]",
  describe: "Every GitSync (or Flux Kustomization and GitRepository) in the cluster: ready, revision, age, objects, fullest quota; the ControlPlanes of controlplane teams",
  builder: (y) =>
    y
      .positional("team", { type: "string", describe: "Only this team's sync objects (and its ControlPlane; a controlplane team's quota is read in its own API server)" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig to use (default: KUBECONFIG, ~/.kube/config)" })
      .option("watch", { alias: "w", type: "boolean", default: false, describe: "Re-render every 2 s until Ctrl-C" }),
  handler: async (args) => {
    const [{ loadAccess }, { ListMemo }, { gatherControlPlanes, gatherEnforcement, gatherStatus, gatherTeamStatus }, { STATUS_COLUMNS, statusCells }, { CONTROLPLANE_COLUMNS, controlPlaneCells }, { enforcementLines }, { configuredEngine }] =
      await Promise.all([
        import("../cluster/access.js"),
        import("../cluster/list-memo.js"),
        import("../views/gather.js"),
        import("../views/status.js"),
        import("../views/controlplanes.js"),
        import("../views/enforcement.js"),
        import("../views/engine.js"),
      ]);
    const kc = loadAccess(args.kubeconfig);
    // Inside an admin repo its spec.engine says which sync objects to read; elsewhere the cluster is asked.
    const engine = configuredEngine();
    const opts = engine === undefined ? {} : { engine };
    const team = args.team;
    const gather = async (lists: InstanceType<typeof ListMemo>) => {
      if (team === undefined) {
        const [rows, controlPlanes] = await Promise.all([gatherStatus(kc, { ...opts, lists }), gatherControlPlanes(kc)]);
        return { rows, controlPlanes, notes: controlPlanes.note === undefined ? [] : [controlPlanes.note] };
      }
      return gatherTeamStatus(kc, team, opts);
    };
    const render = async (): Promise<string> => {
      // The GitSyncs and team namespaces are read once for both views of this render.
      const lists = new ListMemo();
      const [{ rows, controlPlanes, notes }, enforcement] = await Promise.all([gather(lists), gatherEnforcement(kc, lists)]);
      if (args.output !== "table") {
        const data = { gitsyncs: rows.filter((r) => r.kind === "GitSync"), flux: rows.filter((r) => r.kind !== "GitSync"), controlPlanes: controlPlanes.rows ?? [], enforcement };
        return formatData(args.output, notes.length === 0 ? data : { ...data, notes });
      }
      // In the frame, not on stderr: --watch would repeat them every 2 s.
      const lines = [...notes, ...enforcementLines(enforcement)].map((l) => `${safeLine(l)}\n`).join("");
      const where = team === undefined ? "in the cluster" : `of team ${team} in the cluster`;
      const none = engine === "flux" ? `No Flux Kustomizations or GitRepositories ${where}.\n` : `No GitSyncs ${where}.\n`;
      const table = rows.length === 0 ? none : formatTable(STATUS_COLUMNS, rows.map(statusCells));
      const cps = controlPlanes.rows === null || controlPlanes.rows.length === 0 ? "" : `\n${formatTable(CONTROLPLANE_COLUMNS, controlPlanes.rows.map(controlPlaneCells))}`;
      return `${table}${cps}${lines === "" ? "" : `\n${lines}`}`;
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
