#!/usr/bin/env bash
# Adds or updates a team in this admin repo: a thin wrapper over `tenantry create-team`.
#   scripts/create-team.sh team1 --repo-url git@github.com:acme/team1.git [--tier medium] ...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v tenantry >/dev/null 2>&1 || {
  echo "create-team.sh: the tenantry CLI is not on PATH: install it (npm install --global tenantry)" >&2
  exit 127
}
exec tenantry create-team "$@"
