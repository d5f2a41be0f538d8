// The network matrix of rendered objects: model, questions, tenantry-netcheck, matrix.

import type { KubeObject } from "../model/object.js";
import type { NetworkMatrix } from "../model/network.js";
import { matrixOf, netcheckInput } from "./matrix.js";
import { networkModel } from "./model.js";
import { runNetcheck } from "./netcheck.js";

export interface AnalyzeOptions {
  /** Teams whose objects are not among `objects`, modelled as create-team renders them. */
  readonly teams?: readonly string[];
  /** Only the rows and columns of these namespaces. */
  readonly focus?: ReadonlySet<string>;
  /** The other ref's NetworkPolicies (plan): both refs get the same witnesses and ports. */
  readonly alsoPolicies?: readonly KubeObject[];
}

export async function analyzeNetwork(objects: readonly KubeObject[], opts: AnalyzeOptions = {}): Promise<NetworkMatrix> {
  const model = networkModel(objects, { ...(opts.teams === undefined ? {} : { teams: opts.teams }), ...(opts.alsoPolicies === undefined ? {} : { alsoPolicies: opts.alsoPolicies }) });
  const input = netcheckInput(model, opts.focus);
  const out = await runNetcheck(input);
  return matrixOf(model, input, out.answers, out.engine);
}
