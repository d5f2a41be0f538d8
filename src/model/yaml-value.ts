// The value of a parsed YAML document, for readers of files people and tenants write. The
// yaml library refuses a document whose aliases expand past its limit (a "billion laughs"
// file) by throwing from toJS(); a reader turns that into a problem naming its file.

import type { Document } from "yaml";
import { ValidationError } from "../errors.js";

/** `doc`'s value, or the one-line reason it has none (without the file's name). */
export function documentValue(doc: Document): { readonly value: unknown } | { readonly problem: string } {
  try {
    return { value: doc.toJS() };
  } catch (e) {
    // The yaml library throws ReferenceError for aliases only: too many, or one without its anchor.
    if (!(e instanceof ReferenceError)) throw e;
    return e.message.startsWith("Excessive alias count")
      ? { problem: "its aliases expand past the limit a YAML reader allows (an alias bomb?)" }
      : { problem: `an alias does not resolve (${e.message.split("\n")[0] ?? ""})` };
  }
}

/** `doc`'s value; throws a ValidationError naming `file` when it has none. */
export function documentValueOf(doc: Document, file: string): unknown {
  const read = documentValue(doc);
  if ("problem" in read) throw new ValidationError([`${file}: ${read.problem}: fix the file or restore it with git`]);
  return read.value;
}
