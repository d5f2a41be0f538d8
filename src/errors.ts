// Typed errors: commands throw these; the CLI's single top-level catch prints one line
// and maps the error to its exit code (documented in docs/cli.md).

export const ExitCode = {
  ok: 0,
  /** Something failed at run time: a file could not be written, a repo is in a bad state. */
  failure: 1,
  /** The input is wrong: bad name, bad flag, malformed tenantry.yaml. Nothing was changed. */
  invalid: 2,
  /** `tenantry plan`: the plan carries risk flags. */
  risk: 3,
  /** An outside program or service failed: kustomize, git, the API server. */
  external: 4,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class TenantryError extends Error {
  override readonly name: string = "TenantryError";
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
  ) {
    super(message);
  }
}

/** One or more problems with the user's input, all reported at once. */
export class ValidationError extends TenantryError {
  override readonly name = "ValidationError";
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"), ExitCode.invalid);
  }
}

/** An outside program (kustomize, git, go) failed or is missing. */
export class ToolError extends TenantryError {
  override readonly name = "ToolError";
  constructor(message: string) {
    super(message, ExitCode.external);
  }
}
