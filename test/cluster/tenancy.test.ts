// The generated tenancy on the tenantry engine, proven on a real API server
// (test/helpers/tenancy-suite.ts; the flux engine runs the same suite in test/flux/).

import { tenancySuite } from "../helpers/tenancy-suite.js";

tenancySuite("tenantry");
