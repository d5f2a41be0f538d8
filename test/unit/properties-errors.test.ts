// Properties (fast-check) of the one-line error mapping: whatever Node, the API server or a
// user hands it, the CLI's top-level catch gets either a TenantryError with a documented exit
// code and a one-line message, or nothing (then it is a bug). And the agent's option check
// against an oracle written from docs/cli.md. Seeded: FC_SEED=<n> replays or explores; a
// failure prints the seed and the shrunk case.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError, apiRefusal, ClusterConnectionError, clusterFailure, connectionFailure, KindNotServedError, refusalFailure } from "../../src/cluster/api-errors.js";
import { agentOptionProblems, MAX_CONCURRENCY, MAX_POLL_INTERVAL_S, MAX_TRIGGER_SPACING_S } from "../../src/cli/agent.js";
import { ExitCode, PathError, systemFailure, TenantryError, WriteError } from "../../src/errors.js";

const SEED = Number(process.env.FC_SEED ?? 17_2026);
const runs = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns });

const DOCUMENTED = new Set<number>([ExitCode.failure, ExitCode.invalid, ExitCode.external]);

function expectOneLine(e: TenantryError): void {
  expect(e.message).not.toContain("\n");
  expect(DOCUMENTED.has(e.exitCode), `exit ${e.exitCode}`).toBe(true);
}

const errno = (props: Record<string, unknown>): Error => Object.assign(new Error(typeof props.code === "string" ? props.code : "x"), props);

const CODES = ["ENOTDIR", "EISDIR", "EEXIST", "ENOENT", "ELOOP", "ENAMETOOLONG", "EROFS", "EACCES", "EPERM", "ENOSPC", "EDQUOT", "EMFILE", "EADDRINUSE", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "EBUSY", "EXDEV"];
const SYSCALLS = ["open", "mkdir", "mkdtemp", "rename", "scandir", "read", "write", "unlink", "listen", "bind", "getaddrinfo", "spawn git", "spawn tenantry-build", "copyfile"];

const systemError = fc.record(
  {
    code: fc.oneof(fc.constantFrom(...CODES), fc.string()),
    syscall: fc.oneof(fc.constantFrom(...SYSCALLS), fc.string()),
    path: fc.oneof(fc.string({ unit: "grapheme" }), fc.constant("/etc/passwd/x"), fc.constant("/nonexistent/a/b")),
    address: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()),
    port: fc.oneof(fc.integer({ min: -1, max: 70_000 }), fc.string()),
    hostname: fc.string(),
  },
  { requiredKeys: ["code"] },
);

describe("systemFailure", () => {
  it("never throws; what it maps is one line with a documented code", () => {
    fc.assert(
      fc.property(systemError, (props) => {
        const mapped = systemFailure(errno(props), () => undefined);
        const quoted = [props.path, props.hostname, props.address, props.code].filter((v) => typeof v === "string");
        // What it quotes is the caller's text: only that may hold a line break (the top-level catch escapes it).
        if (mapped !== undefined && !quoted.some((v) => v.includes("\n"))) expectOneLine(mapped);
        if (mapped !== undefined) expect(DOCUMENTED.has(mapped.exitCode)).toBe(true);
      }),
      runs(500),
    );
  });

  it("names the file in the way of a path (ENOTDIR)", () => {
    const isDir = (p: string): boolean | undefined => (p === "/repo" || p === "/repo/cluster" ? true : p === "/repo/cluster/teams" ? false : undefined);
    const e = systemFailure(errno({ code: "ENOTDIR", syscall: "open", path: "/repo/cluster/teams/kustomization.yaml" }), isDir);
    expect(e).toBeInstanceOf(PathError);
    expect(e?.exitCode).toBe(ExitCode.invalid);
    expect(e?.message).toBe("/repo/cluster/teams is a file where a directory was expected: move it away, or restore the directory (git checkout -- <path> in a repo)");
  });

  it.each([
    ["EROFS", "open", "/repo/x", /cannot write \/repo\/x: it is on a read-only file system/],
    ["EROFS", "mkdtemp", "/repo/.tenantry-staging-XXXXXX", /cannot write \/repo: it is on a read-only file system/],
    ["EACCES", "open", "/repo/x", /permission denied: cannot open \/repo\/x: make it writable/],
    ["EACCES", "mkdtemp", "/repo/.tenantry-staging-XXXXXX", /permission denied: cannot create a directory in \/repo: make it writable/],
    ["ENOSPC", "write", "/repo/x", /no space left on the device/],
  ])("%s (%s): a WriteError, exit 1", (code, syscall, path, message) => {
    const e = systemFailure(errno({ code, syscall, path }), () => true);
    expect(e).toBeInstanceOf(WriteError);
    expect(e?.exitCode).toBe(ExitCode.failure);
    expect(e?.message).toMatch(message);
  });

  it("a port in use, an address not here, a name that does not resolve", () => {
    expect(systemFailure(errno({ code: "EADDRINUSE", syscall: "listen", address: "127.0.0.1", port: 8080 }), () => undefined)?.message).toBe(
      "cannot listen on 127.0.0.1:8080: another program uses that port: choose another --port or --metrics-port, or stop that program",
    );
    expect(systemFailure(errno({ code: "EADDRNOTAVAIL", syscall: "listen", address: "192.0.2.1" }), () => undefined)?.exitCode).toBe(ExitCode.invalid);
    expect(systemFailure(errno({ code: "ENOTFOUND", syscall: "getaddrinfo", hostname: "nope.invalid" }), () => undefined)?.message).toMatch(/^nope\.invalid does not resolve \(ENOTFOUND\)/);
  });

  it("leaves what it does not know to the bug path", () => {
    expect(systemFailure(new TypeError("x is undefined"), () => undefined)).toBeUndefined();
    expect(systemFailure(errno({ code: "EBUSY", syscall: "rmdir", path: "/x" }), () => undefined)).toBeUndefined();
    expect(systemFailure(new TenantryError("already one"), () => undefined)).toBeUndefined();
  });
});

const body = fc.oneof(
  fc.string(),
  fc.constantFrom("null", "123", "[]", '"text"', '{"message": 5}', '{"reason": ["x"]}', "", "  \n", "<html>\n<body>502 Bad Gateway</body>\n</html>"),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ kind: fc.constant("Status"), message: fc.string(), reason: fc.string(), code: fc.integer() }).map((v) => JSON.stringify(v)),
);

describe("API refusals", () => {
  it("apiRefusal never throws on any body, and keeps the code", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), body, (code, text) => {
        const r = apiRefusal(new ApiError(code, text));
        expect(r?.code).toBe(code);
        expect(typeof r?.message).toBe("string");
        expect(typeof r?.reason).toBe("string");
      }),
      runs(500),
    );
  });

  it("refusalFailure: one line, exit 4, the server named, 401 and 403 with their fix", () => {
    fc.assert(
      fc.property(fc.integer({ min: 300, max: 599 }), body, fc.constantFrom("GET", "POST", "PATCH"), (code, text, method) => {
        const e = refusalFailure(new ApiError(code, text, { server: "https://api.example:6443", method, path: "/apis/tenantry.dev/v1alpha1/gitsyncs" }));
        expect(e).toBeDefined();
        if (e === undefined) return;
        expectOneLine(e);
        expect(e.exitCode).toBe(ExitCode.external);
        expect(e.message).toMatch(/^the API server at https:\/\/api\.example:6443 /);
        if (code === 401) expect(e.message).toMatch(/did not accept the kubeconfig's credentials \(401 Unauthorized\).*get a new one/);
      }),
      runs(300),
    );
  });

  it("a 403 of RBAC names the right to get", () => {
    const status = JSON.stringify({ kind: "Status", code: 403, reason: "Forbidden", message: 'gitsyncs.tenantry.dev is forbidden: User "system:serviceaccount:default:nobody" cannot list resource "gitsyncs" in API group "tenantry.dev" at the cluster scope' });
    const e = refusalFailure(new ApiError(403, status, { server: "https://s", method: "GET", path: "/apis/tenantry.dev/v1alpha1/gitsyncs" }));
    expect(e?.message).toBe(
      'the API server at https://s refused GET /apis/tenantry.dev/v1alpha1/gitsyncs: gitsyncs.tenantry.dev is forbidden: User "system:serviceaccount:default:nobody" cannot list resource "gitsyncs" in API group "tenantry.dev" at the cluster scope (403 Forbidden): use a kubeconfig whose identity has that right (--kubeconfig), or grant it with RBAC',
    );
  });
});

const TLS_CODES = ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID", "EPROTO", "ERR_SSL_WRONG_VERSION_NUMBER", "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "ERR_OSSL_PEM_NO_START_LINE", "ECONNRESET", "ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT"];

describe("connection failures", () => {
  it("every TLS and network code Node gives is one line naming the server, exit 4", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TLS_CODES), fc.string(), fc.boolean(), (code, message, nested) => {
        const raw = nested ? Object.assign(new Error("fetch failed"), { cause: { code } }) : errno({ code, message });
        const e = connectionFailure(raw, "https://127.0.0.1:6443");
        expect(e).toBeInstanceOf(ClusterConnectionError);
        if (e === undefined) return;
        expectOneLine(e);
        expect(e.exitCode).toBe(ExitCode.external);
        expect(e.message).toContain("https://127.0.0.1:6443");
        expect(e.message).toContain(code);
        // Callers that map it again get the same error.
        expect(connectionFailure(e, "https://other")).toBe(e);
      }),
      runs(200),
    );
  });

  it("what is not a connection failure is left alone", () => {
    expect(connectionFailure(new Error("boom"), "https://s")).toBeUndefined();
    expect(clusterFailure(new KindNotServedError("https://s", "tenantry.dev/v1alpha1", "GitSync"))).toBeUndefined();
  });

  it("a kind not served: tenantry's own group says tenantry is not installed", () => {
    const e = new KindNotServedError("https://s", "tenantry.dev/v1alpha1", "GitSync");
    expect(e.exitCode).toBe(ExitCode.failure);
    expect(e.message).toMatch(/^the cluster at https:\/\/s does not serve GitSync \(tenantry\.dev\/v1alpha1\): tenantry is not installed there: apply the admin repo's cluster\/common/);
  });
});

/** docs/cli.md's ranges, written again as the oracle. */
function valid(o: { port: unknown; metricsPort: unknown; concurrency: unknown; poll: unknown; spacing: unknown }): boolean {
  const int = (v: unknown, min: number, max: number): boolean => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
  const secs = (v: unknown, min: number, open: boolean, max: number): boolean => typeof v === "number" && Number.isFinite(v) && (open ? v > min : v >= min) && v <= max;
  return (
    int(o.port, 0, 65535) &&
    int(o.metricsPort, 0, 65535) &&
    (o.metricsPort === 0 || o.metricsPort !== o.port) &&
    int(o.concurrency, 1, MAX_CONCURRENCY) &&
    secs(o.poll, 0, true, MAX_POLL_INTERVAL_S) &&
    secs(o.spacing, 0, false, MAX_TRIGGER_SPACING_S)
  );
}

const number = fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0, 1, 64, 65, 65535, 65536, 3600, 3601, 86_400, 1e-9), fc.string(), fc.array(fc.integer(), { minLength: 2, maxLength: 2 }));

describe("agent options", () => {
  it("are refused exactly when they are outside their documented ranges, each problem one line", () => {
    fc.assert(
      fc.property(number, number, number, number, number, (port, metricsPort, concurrency, poll, spacing) => {
        const problems = agentOptionProblems({ port, "metrics-port": metricsPort, metrics: true, concurrency, "poll-interval": poll, "trigger-spacing": spacing, "leader-elect": false });
        expect(problems.length === 0, problems.join("; ")).toBe(valid({ port, metricsPort, concurrency, poll, spacing }));
        for (const p of problems) expect(p).not.toContain("\n");
      }),
      runs(1000),
    );
  });
});
