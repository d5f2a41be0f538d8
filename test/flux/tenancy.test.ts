// The generated tenancy on the flux engine, proven on a real API server with Flux's controllers
// running: the same suite as the tenantry engine's (test/helpers/tenancy-suite.ts).

import { tenancySuite } from "../helpers/tenancy-suite.js";

tenancySuite("flux");
