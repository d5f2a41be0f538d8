// What the API server said, as data: the HTTP code and its Status message. Callers branch
// on `code`, never on message text.

import { ExitCode, TenantryError } from "../errors.js";

/** A non-2xx answer of the API server: its HTTP code and body (usually a Status). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}`);
  }
}

export interface ApiRefusal {
  readonly code: number;
  readonly reason: string;
  readonly message: string;
}

/** ApiError, or client-node's ApiException, recognised by shape: client-node is not loaded for this. */
function isApiError(e: unknown): e is { code: number; body: unknown; message: string } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "number" && "body" in e;
}

/** The refusal inside an API error (ours or client-node's), or undefined for anything else. */
export function apiRefusal(e: unknown): ApiRefusal | undefined {
  if (!isApiError(e)) return undefined;
  const body: unknown = e.body;
  let status: { reason?: string; message?: string } = {};
  if (typeof body === "string") {
    try {
      status = JSON.parse(body) as typeof status;
    } catch {
      status = { message: body };
    }
  } else if (typeof body === "object" && body !== null) {
    status = body;
  }
  return { code: e.code, reason: status.reason ?? "", message: status.message ?? e.message };
}

/** Network failures and the like: the API server could not be reached at all. */
export function unreachable(e: unknown, server: string): TenantryError | undefined {
  const err = e as { code?: string; cause?: { code?: string }; type?: string; message?: string };
  const code = err.code ?? err.cause?.code;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || code === "EHOSTUNREACH" || err.type === "system") {
    return new TenantryError(`cannot reach the API server at ${server} (${code ?? err.message ?? "network error"}): check the kubeconfig and that the cluster is up`, ExitCode.external);
  }
  return undefined;
}
