#!/usr/bin/env bash
# Regenerates the OpenAPI snapshot `tenantry validate` checks built-in kinds against:
#   scripts/snapshot-openapi.sh            -> src/validate/schemas/kubernetes.json
# Starts a local control plane of the pinned release (tools/versions.env, via
# scripts/local-cluster.sh), fetches /openapi/v3 and every group-version document from its
# kube-apiserver, converts them to JSON Schema without descriptions (src/validate/openapi.ts)
# and stops the control plane again. Run it after changing KUBERNETES_VERSION; commit the file.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/src/validate/schemas/kubernetes.json"
work=$(mktemp -d "${TMPDIR:-/tmp}/tenantry-openapi-XXXXXX")
cleanup() {
  "$root/scripts/local-cluster.sh" stop "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

printf 'snapshot-openapi: building dist/\n' >&2
(cd "$root" && npx tsc -p tsconfig.build.json)
kubeconfig=$("$root/scripts/local-cluster.sh" start "$work/cluster")
mkdir -p "$(dirname "$out")"
node --input-type=module -e '
  const [, kubeconfig, out, module] = process.argv;
  const { writeSnapshot } = await import(module);
  await writeSnapshot(kubeconfig, out);
' -- "$kubeconfig" "$out" "file://$root/dist/validate/snapshot.js"
