// Constants the CLI needs to describe its options, apart from the modules that parse
// files: `tenantry --help` loads this, not yaml or ajv.

export const POLICY_ENGINES = ["gatekeeper", "vap", "both"] as const;
export type PolicyEngine = (typeof POLICY_ENGINES)[number];
