// Runs `tenantry agent` as a real process for tests and reads its JSON log.

import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, expect } from "vitest";
import { cliPath } from "./cli.js";

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** The /metrics port. */
  readonly metricsPort: number;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const c of running) c.kill("SIGKILL");
});

export async function startAgent(args: readonly string[]): Promise<AgentProcess> {
  const child = spawn(process.execPath, [cliPath, "agent", "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--poll-interval", "1", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.add(child);
  const logs: Record<string, unknown>[] = [];
  let buffer = "";
  const ports = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`agent did not start: ${JSON.stringify(logs)}${buffer}`));
    }, 20_000);
    child.stderr.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === "agent started") {
            clearTimeout(timer);
            resolve({ port: entry.port as number, metricsPort: entry.metricsPort as number });
          }
        } catch {
          logs.push({ raw: line });
        }
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${String(code)}: ${buffer}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    running.delete(child);
    resolve(code);
  }));
  return {
    child,
    ...ports,
    logs,
    stop: (signal: NodeJS.Signals = "SIGTERM") => {
      child.kill(signal);
      return exited;
    },
  };
}

export function reconciledCount(a: AgentProcess, gitsync: string): number {
  return a.logs.filter((l) => l.msg === "reconciled" && l.gitsync === gitsync).length;
}

/** Runs of `gitsync` that finished, ready or not (each logs its duration). */
export function runCount(a: AgentProcess, gitsync: string): number {
  return a.logs.filter((l) => l.gitsync === gitsync && typeof l.seconds === "number").length;
}

export function expectNoErrors(a: AgentProcess): void {
  expect(a.logs.filter((l) => l.level === "error")).toEqual([]);
}
