// The CLI entry: registers one CommandModule per command, parses, and is the single place
// that turns errors into a one-line message and an exit code. Command modules load their
// cores lazily, so `tenantry --help` does not pay for the cluster client.

import { statSync } from "node:fs";
import yargs from "yargs";
import { clusterFailure } from "../cluster/api-errors.js";
import { ExitCode, systemFailure, TenantryError, ValidationError } from "../errors.js";
import { safeLine, safeLines } from "../model/safe-text.js";
import { tenantryVersion } from "../paths.js";
import { agentCommand } from "./agent.js";
import { appCommand } from "./app.js";
import { bootstrapCommand } from "./bootstrap.js";
import { createTeamCommand } from "./create-team.js";
import { ctxCommand } from "./ctx.js";
import { deleteTeamCommand } from "./delete-team.js";
import { engineCommand } from "./engine.js";
import { takeExitCode } from "./exit.js";
import { tolerateClosedPipes } from "./output.js";
import { importCommand } from "./import.js";
import { initCommand } from "./init.js";
import { keysCommand } from "./keys.js";
import { secretsCommand } from "./secrets.js";
import { kubeconfigCommand } from "./kubeconfig.js";
import { listCommand } from "./list.js";
import { planCommand } from "./plan.js";
import { resourcesCommand } from "./resources.js";
import { statusCommand } from "./status.js";
import { syncCommand } from "./sync.js";
import { usageCommand } from "./usage.js";
import { validateCommand } from "./validate.js";

class UsageError extends TenantryError {
  override readonly name = "UsageError";
}

const isDirectory = (path: string): boolean | undefined => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return undefined;
  }
};

/**
 * An error no command turned into a TenantryError, when it is one a user can fix: the API
 * server refused or could not be reached, a path is of the wrong kind, a file could not be
 * written, a port is taken. Anything else is a bug.
 */
function known(e: unknown): TenantryError | undefined {
  return clusterFailure(e) ?? systemFailure(e, isDirectory);
}

function report(caught: unknown): number {
  const e = known(caught) ?? caught;
  if (e instanceof TenantryError) {
    // A message may quote a team's repo or a git host: one escaped line each, no credentials.
    // A problem is one line even when it quotes a name with a line break in it.
    // A tool's output quoted in a message may end in a line break: no empty "error:" lines.
    const given = e instanceof ValidationError ? e.problems : e.message.split("\n");
    const lines = given.filter((l) => l.trim() !== "");
    if (lines.length === 0) lines.push(e.name);
    for (const line of lines) process.stderr.write(`tenantry: error: ${safeLine(line)}\n`);
    return e.exitCode;
  }
  if (typeof e === "string") {
    // yargs rejects with a bare string when a command's .check() returns a message.
    process.stderr.write(`tenantry: error: ${safeLine(e)} (see tenantry --help)\n`);
    return ExitCode.invalid;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`tenantry: internal error: ${safeLines(`${err.message}\n${err.stack ?? ""}`)}\nThis is a bug in tenantry: please report it.\n`);
  return ExitCode.internal;
}

/**
 * yargs renders a command's whole help text right after starting its handler, to print it
 * should the handler fail. tenantry's failures are one line (see `.fail` below), never the
 * help, and that render was 47 ms of every create-team (its options, wrapped to the
 * terminal). `--help` and usage errors render the help as before. If a yargs upgrade moves
 * the method, nothing is skipped.
 */
function skipHelpCache(cli: object): void {
  const internal = (cli as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  if (usage !== undefined && typeof usage.cacheHelpMessage === "function") usage.cacheHelpMessage = () => undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  takeExitCode();
  tolerateClosedPipes();
  const cli = yargs([...argv])
    .scriptName("tenantry")
    .usage("$0 <command> [options]\n\nTurn a Kubernetes cluster into a multi-tenant platform run through Git.")
    .command(initCommand)
    .command(createTeamCommand)
    .command(deleteTeamCommand)
    .command(engineCommand)
    .command(listCommand)
    .command(appCommand)
    .command(syncCommand)
    .command(keysCommand)
    .command(secretsCommand)
    .command(bootstrapCommand)
    .command(agentCommand)
    .command(statusCommand)
    .command(resourcesCommand)
    .command(usageCommand)
    .command(kubeconfigCommand)
    .command(ctxCommand)
    .command(validateCommand)
    .command(planCommand)
    .command(importCommand)
    .demandCommand(1, "Name a command: tenantry --help lists them.")
    .strict()
    .recommendCommands()
    .version(tenantryVersion())
    .help()
    .alias("h", "help")
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg: string | null, err: Error | undefined) => {
      // yargs reports its own validation (including .check()) as a YError: a usage error.
      if (err !== undefined && err.name !== "YError") throw err;
      // yargs breaks some messages over lines ("Invalid values:\n  Argument: ..."): one line.
      const text = (msg ?? err?.message ?? "invalid arguments").replace(/:?\s*\n\s*/g, ": ").trim();
      throw new UsageError(`${text} (see tenantry --help)`, ExitCode.invalid);
    });
  skipHelpCache(cli);
  try {
    await cli.parseAsync();
    return takeExitCode();
  } catch (e) {
    return report(e);
  }
}
