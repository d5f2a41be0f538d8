// A command's exit code when it finishes without an error but must not report success
// (a failed reconcile, plan's risk flags). Read once by the CLI entry.

let requested = 0;

export function setExitCode(code: number): void {
  requested = code;
}

export function takeExitCode(): number {
  const code = requested;
  requested = 0;
  return code;
}
