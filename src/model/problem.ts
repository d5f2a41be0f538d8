// Where an object came from and what is wrong with it: the vocabulary of `tenantry validate`
// and the policy checks, so every problem names its file, overlay and object.

import { describeObject, type KubeObject } from "./object.js";

/** An object with where it came from. */
export interface Located {
  readonly object: KubeObject;
  readonly file: string | null;
  /** The build it came from: `cluster/common`, `cluster/<team>`, `.` (root), or a team repo. */
  readonly overlay: string;
  /** The team whose overlay it is, or null for cluster/common and the root. */
  readonly team: string | null;
}

export interface Problem {
  readonly file: string | null;
  readonly overlay: string;
  /** `Kind/namespace/name`, or null for a problem with the overlay as a whole. */
  readonly object: string | null;
  readonly message: string;
}

export function problemAt(l: Pick<Located, "file" | "overlay"> & { object?: KubeObject }, message: string): Problem {
  return { file: l.file, overlay: l.overlay, object: l.object === undefined ? null : describeObject(l.object), message };
}
