// Redacting URL credentials and escaping control characters (src/model/safe-text.ts), and
// the sinks that use them: the agent's logs, table cells.

import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/agent/log.js";
import { formatTable } from "../../src/cli/output.js";
import { escapeControl, hasUrlCredentials, redactUrlCredentials, safeCell } from "../../src/model/safe-text.js";

describe("redactUrlCredentials", () => {
  it.each([
    ["fetching https://x-access-token:ghp_abc123@github.com/acme/t.git failed", "fetching https://***@github.com/acme/t.git failed"],
    ["https://ghp_abc123@github.com/acme/t.git", "https://***@github.com/acme/t.git"],
    ["fatal: unable to access 'https://user:p%40ss@git.example.com/x/'", "fatal: unable to access 'https://***@git.example.com/x/'"],
    ["ssh://git:hunter2@host:2222/r.git", "ssh://git:***@host:2222/r.git"],
    ["http://a:b@h/ and HTTPS://c@h2/", "http://***@h/ and HTTPS://***@h2/"],
    // A password may hold '@' and quotes; the userinfo runs to the last '@' before the path.
    ["clone https://ci:p@ss@github.com/x failed", "clone https://***@github.com/x failed"],
    ["'https://ci:it's@host/x'", "'https://***@host/x'"],
    ["url=https://u:p@h", "url=https://***@h"],
  ])("%s", (input, expected) => {
    expect(redactUrlCredentials(input)).toBe(expected);
    expect(hasUrlCredentials(input)).toBe(true);
  });

  it.each(["ssh://git@github.com/acme/t.git", "git@github.com:acme/t.git", "https://github.com/acme/t.git", "mail me at a@b.c", "file:///tmp/x"])("keeps %s", (s) => {
    expect(redactUrlCredentials(s)).toBe(s);
  });
});

describe("on a team's longest strings", () => {
  it("stays linear: a megabyte of scheme-like text is handled at once (the test's timeout is the judge)", () => {
    const long = "a.".repeat(500_000);
    expect(redactUrlCredentials(long)).toBe(long);
    expect(safeCell(long)).toBe(`${long.slice(0, 256)}…`);
    expect(redactUrlCredentials("x://".repeat(100_000))).toHaveLength(400_000);
  });
});

describe("escapeControl", () => {
  it("makes every control character visible, on one line", () => {
    expect(escapeControl("a\x1b[2J\x1b]0;pwned\x07b\nc\r\td\u202egnp.exe\u0085\x7f")).toBe("a\\x1b[2J\\x1b]0;pwned\\x07b\\nc\\r\\td\\u202egnp.exe\\x85\\x7f");
    expect(escapeControl("plain text ├─ ünïcode")).toBe("plain text ├─ ünïcode");
    // Invisible characters that make two names look alike: zero-width, bidi marks, BOM, tags.
    expect(escapeControl("team\u200b1\u200e\ufeff\u00ad\u{e0041}")).toBe("team\\u200b1\\u200e\\ufeff\\xad\\u{e0041}");
  });
});

describe("the sinks", () => {
  it("a table cell stays one cell: no escape sequence or newline reaches the terminal", () => {
    const table = formatTable(["name", "message"], [{ name: "app\x1b[31m", message: "line1\nREADY  fake\u202e https://t:s@h/r" }]);
    expect(table).toBe("NAME         MESSAGE\napp\\x1b[31m  line1\\nREADY  fake\\u202e https://***@h/r\n");
    expect(safeCell("\x1b")).toBe("\\x1b");
  });

  it("logs never carry URL credentials, in the message, a field or an error", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l: string) => lines.push(l) } as unknown as NodeJS.WritableStream, { now: () => new Date(0) });
    log.warn("fetching https://tok@h/r failed", { url: "https://u:p@h/r", nested: { list: ["ssh://git:pw@h/r"] }, error: new Error("clone of https://u:p@h/r") });
    expect(lines.join("")).not.toMatch(/tok@|u:p@|:pw@/);
    expect(JSON.parse(lines[0] ?? "")).toEqual({
      time: "1970-01-01T00:00:00.000Z",
      level: "warn",
      msg: "fetching https://***@h/r failed",
      url: "https://***@h/r",
      nested: { list: ["ssh://git:***@h/r"] },
      error: { name: "Error", message: "clone of https://***@h/r" },
    });
  });
});
