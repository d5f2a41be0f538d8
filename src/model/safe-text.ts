// Text from outside (a team's repo, a GitSync's status, git's own messages) made safe to
// record and print: credentials embedded in URLs are redacted before anything is logged,
// written to a status or an Event, and control characters are escaped before a terminal
// sees them, so a name or message cannot move the cursor, recolour or rewrite what an
// admin reads.

export const REDACTED_USERINFO = "***";

// scheme://userinfo@host: userinfo runs to the last '@' before the path, query, fragment or
// a space (a password may hold '@' and quotes). The scheme is bounded, so a long run of
// "a.a.a." costs linear time, not quadratic. ssh's user name (git@) is not a secret; its
// password is.
const URL_USERINFO = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}):\/\/([^\s/?#]+)@/gi;

/** `text` with every URL's credentials replaced: `https://***@host`, `ssh://git:***@host`. */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_USERINFO, (_all, scheme: string, userinfo: string) => {
    if (/^(ssh|git\+ssh|ssh\+git)$/i.test(scheme)) {
      const colon = userinfo.indexOf(":");
      return colon < 0 ? `${scheme}://${userinfo}@` : `${scheme}://${userinfo.slice(0, colon)}:${REDACTED_USERINFO}@`;
    }
    return `${scheme}://${REDACTED_USERINFO}@`;
  });
}

/** Whether `text` carries a URL with credentials. */
export function hasUrlCredentials(text: string): boolean {
  return redactUrlCredentials(text) !== text;
}

// C0 and C1 controls, DEL, the Unicode line/paragraph separators, bidi marks and overrides
// that reorder what a terminal shows (CVE-2021-42574's class), and the invisible characters
// (zero-width, soft hyphen, BOM, tag characters) that make two names look alike.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;

/** One line of `text` for a terminal: every control character as a visible escape (`\n`, `\x1b`, `\u202e`). */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.codePointAt(0) ?? 0;
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
    return code <= 0xffff ? `\\u${code.toString(16).padStart(4, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** One line for a terminal, however long: URL credentials redacted, controls (line breaks too) escaped. */
export function safeLine(text: string): string {
  return escapeControl(redactUrlCredentials(text));
}

/** Lines of text for a terminal: each line's controls escaped and URL credentials redacted, the line breaks kept. */
export function safeLines(text: string): string {
  return text
    .split("\n")
    .map(safeLine)
    .join("\n");
}

/** The longest cell a table shows; anything a team makes longer is cut (and says so). */
export const MAX_CELL = 256;

/** A team-written string for a terminal cell: cut to MAX_CELL, credentials redacted, controls escaped. */
export function safeCell(text: string): string {
  const safe = escapeControl(redactUrlCredentials(text));
  return safe.length > MAX_CELL ? `${safe.slice(0, MAX_CELL)}…` : safe;
}
