#!/usr/bin/env bash
# Builds the pinned outside programs from their Go modules into the cache, once:
#   scripts/install-tools.sh [kustomize] [gator] [control-plane] [celcheck] ...   (no argument: all)
# Binaries land in ${TENANTRY_CACHE:-~/.cache/tenantry}/bin/<name>-<version>/; a finished
# build is moved into place atomically, so an interrupted build is never mistaken for one.
# Prints the directory of each tool on stdout as `name=dir`; progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools/versions.env
. "$root/tools/versions.env"
cache=${TENANTRY_CACHE:-$HOME/.cache/tenantry}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

say() { printf 'tenantry: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v go >/dev/null 2>&1 ||
  die "Go is not installed: install Go 1.24 or newer (https://go.dev/doc/install) and run again"

# build NAME DIR BUILD-FUNCTION: runs the function into a temp dir next to DIR, then renames.
build() {
  local name=$1 dir=$2 fn=$3
  if [ -f "$dir/.complete" ]; then
    echo "$name=$dir"
    return
  fi
  # One build of a tool at a time: a second caller (two test suites starting a cluster on a
  # fresh machine) waits for the first instead of building again, and never sees $dir
  # replaced under it. The lock is released when this script exits.
  local lock
  mkdir -p "$(dirname "$dir")"
  if command -v flock >/dev/null 2>&1; then
    exec {lock}>"$dir.lock"
    if ! flock -n "$lock"; then
      say "waiting for another build of $name to finish ..."
      flock "$lock"
    fi
    if [ -f "$dir/.complete" ]; then
      echo "$name=$dir"
      return
    fi
  fi
  local tmp="$dir.tmp.$$" start=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  say "building $name (first time only; cached in $dir) ..."
  if ! "$fn" "$tmp" >"$tmp.log" 2>&1; then
    tail -n 20 "$tmp.log" >&2
    rm -rf "$tmp"
    die "building $name failed (log above, full log in $tmp.log): check the Go toolchain and the module proxy, then run again"
  fi
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  rm -f "$tmp.log"
  say "built $name in $((SECONDS - start))s"
  echo "$name=$dir"
}

build_kustomize() {
  GOBIN="$1" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

build_gator() {
  # gator's go.mod has no replace lines, so `go install module@version` builds it exactly as
  # pinned; the version is stamped the way gatekeeper's release build does it.
  GOBIN="$1" go install -ldflags "-s -w -X github.com/open-policy-agent/gatekeeper/v3/pkg/version.Version=$GATOR_VERSION" \
    "github.com/open-policy-agent/gatekeeper/v3/cmd/gator@$GATOR_VERSION"
}

build_kubernetes() {
  local v=${KUBERNETES_VERSION#v} ld
  ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
  ld+=" -X k8s.io/component-base/version.gitMajor=${v%%.*}"
  ld+=" -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2)"
  go build -C "$root/tools/k8s" -trimpath -ldflags "$ld" -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
}

# tenantry's offline ValidatingAdmissionPolicy checker (tools/k8s/celcheck): the API
# server's own validation and CEL compiler from the pinned release. Its cache directory
# carries a hash of its source, so an edited checker is built again.
build_celcheck() {
  go build -C "$root/tools/k8s" -trimpath -ldflags "-s -w" -o "$1/tenantry-celcheck" ./celcheck
}

celcheck_dir() {
  local hash
  hash=$(sha256sum "$root/tools/k8s/celcheck/main.go" | cut -c1-12)
  echo "$cache/bin/celcheck-$KUBERNETES_VERSION-$hash"
}

build_etcd() {
  go build -C "$root/tools/etcd" -trimpath -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(kustomize gator control-plane celcheck)
for w in "${want[@]}"; do
  case $w in
    kustomize) build kustomize "$cache/bin/kustomize-$KUSTOMIZE_VERSION" build_kustomize ;;
    gator) build gator "$cache/bin/gator-$GATOR_VERSION" build_gator ;;
    celcheck) build celcheck "$(celcheck_dir)" build_celcheck ;;
    control-plane)
      build etcd "$cache/bin/etcd-$ETCD_VERSION" build_etcd
      build kubernetes "$cache/bin/kubernetes-$KUBERNETES_VERSION" build_kubernetes
      ;;
    *) die "unknown tool '$w': use kustomize, gator, control-plane or celcheck" ;;
  esac
done
