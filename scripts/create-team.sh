#!/usr/bin/env bash
# The create-team script platform teams know from the Flux multi-tenancy example, now a thin
# wrapper: run it inside an admin repo (or pass --admin-repo DIR).
#   scripts/create-team.sh team1 --repo-url git@github.com:acme/team1.git [--tier medium] ...
set -euo pipefail
exec node "$(dirname "${BASH_SOURCE[0]}")/../bin/tenantry.js" create-team "$@"
