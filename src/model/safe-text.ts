// Text from outside (a team's repo, a GitSync's status, git's own messages) made safe to
// record and print: credentials embedded in URLs are redacted before anything is logged,
// written to a status or an Event, and control characters are escaped before a terminal
// sees them, so a name or message cannot move the cursor, recolour or rewrite what an
// admin reads.

export const REDACTED_USERINFO = "***";

// scheme://userinfo@ where userinfo is anything up to the first '@' that is not a path,
// a space or a quote. ssh's user name (git@) is not a secret; its password is.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*):\/\/([^\s/?#@'"<>]+)@/gi;

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

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides
// that reorder what a terminal shows (CVE-2021-42574's class).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One line of `text` for a terminal: every control character as a visible escape (`\n`, `\x1b`, `\u202e`). */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** A team-written string for a terminal cell: credentials redacted, controls escaped. */
export function safeCell(text: string): string {
  return escapeControl(redactUrlCredentials(text));
}
