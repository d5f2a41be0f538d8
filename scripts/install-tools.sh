#!/usr/bin/env bash
# Installs what tenantry needs on a machine, from one table (tools/tools.txt):
#   scripts/install-tools.sh                       every Go-built tool
#   scripts/install-tools.sh --for test            everything `npm test` uses (tools + Debian packages)
#   scripts/install-tools.sh --for demo [--with OPTION]...   everything `npm run demo` uses
#   scripts/install-tools.sh NAME...               those rows only (e.g. build gator)
#   add --list to print the selected names and install nothing
# Go-built tools land in ${TENANTRY_CACHE:-~/.cache/tenantry}/bin/<name>-<version>[-<hash>]/
# (versions in tools/versions.env); a finished build is moved into place atomically, so an
# interrupted build is never mistaken for one. Debian packages are installed with apt-get when
# missing and this runs as root; otherwise it stops with one line naming them.
# Prints the directory of each Go-built tool on stdout as `name=dir`; progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
table=$root/tools/tools.txt
# shellcheck source=../tools/versions.env
. "$root/tools/versions.env"
cache=${TENANTRY_CACHE:-$HOME/.cache/tenantry}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

say() { printf 'tenantry: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# The table

declare -A kind_of=() version_of=() provides_of=() needed_of=() inputs_of=()
rows=()
while read -r name kind version provides needed inputs _from; do
  [[ -z $name || $name == \#* ]] && continue
  rows+=("$name")
  kind_of[$name]=$kind version_of[$name]=$version provides_of[$name]=$provides
  needed_of[$name]=$needed inputs_of[$name]=$inputs
done <"$table"

# needed NAME USE OPTIONS...: NAME's needed-by column names USE, or USE+OPTION for a given option.
needed() {
  local name=$1 use=$2 token opt
  shift 2
  IFS=, read -ra tokens <<<"${needed_of[$name]}"
  for token in "${tokens[@]}"; do
    [ "$token" = "$use" ] && return 0
    for opt in "$@"; do [ "$token" = "$use+$opt" ] && return 0; done
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Arguments

use='' list=false
options=() want=()
while [ $# -gt 0 ]; do
  case $1 in
    --for) [ $# -ge 2 ] || die "--for needs demo or test"; use=$2; shift 2 ;;
    --with) [ $# -ge 2 ] || die "--with needs an option name"; options+=("$2"); shift 2 ;;
    --list) list=true; shift ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    -*) die "unknown flag '$1': use --for demo|test, --with OPTION, --list or tool names" ;;
    *) want+=("$1"); shift ;;
  esac
done
if [ -n "$use" ]; then
  [ ${#want[@]} -eq 0 ] || die "give --for $use or tool names, not both"
  [[ $use == demo || $use == test ]] || die "--for takes demo or test, not '$use'"
  for name in "${rows[@]}"; do
    if needed "$name" "$use" "${options[@]}"; then want+=("$name"); fi
  done
elif [ ${#want[@]} -eq 0 ]; then
  for name in "${rows[@]}"; do [ "${kind_of[$name]}" = go ] && want+=("$name"); done
else
  for name in "${want[@]}"; do
    [ -n "${kind_of[$name]:-}" ] || die "unknown tool '$name': tools/tools.txt lists ${rows[*]}"
  done
fi
if $list; then
  printf '%s\n' "${want[@]}"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Debian packages

present() {
  local p
  IFS=, read -ra items <<<"$1"
  for p in "${items[@]}"; do
    if [[ $p == /* ]]; then [ -e "$p" ] || return 1; else command -v "$p" >/dev/null 2>&1 || return 1; fi
  done
}

missing=()
for name in "${want[@]}"; do
  [ "${kind_of[$name]}" = deb ] || continue
  present "${provides_of[$name]}" || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]} ..."
    start=$SECONDS
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/tenantry-apt.$$.log 2>&1; then
      tail -n 20 "/tmp/tenantry-apt.$$.log" >&2
      die "apt-get install ${missing[*]} failed (log above): check the Debian mirror, then run again"
    fi
    rm -f "/tmp/tenantry-apt.$$.log"
    for name in "${missing[@]}"; do
      present "${provides_of[$name]}" || die "apt-get installed $name but ${provides_of[$name]} is still missing"
    done
    say "installed ${missing[*]} in $((SECONDS - start))s"
  else
    what=()
    for name in "${missing[@]}"; do what+=("$name (${provides_of[$name]})"); done
    die "missing Debian packages: ${what[*]}; install them as root: apt-get install ${missing[*]}"
  fi
fi

# ---------------------------------------------------------------------------------------------
# Go-built tools

go_wanted=false
for name in "${want[@]}"; do [ "${kind_of[$name]}" = go ] && go_wanted=true; done
if $go_wanted; then
  command -v go >/dev/null 2>&1 ||
    die "Go is not installed: install Go $GO_MIN_VERSION or newer (https://go.dev/doc/install) and run again"
  have=$(go env GOVERSION 2>/dev/null || true)
  have=${have#go}
  if [ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$have" | sort -V | head -n 1)" != "$GO_MIN_VERSION" ]; then
    die "Go $GO_MIN_VERSION or newer is needed to build the pinned tools (this machine has go$have): install a newer Go and run again"
  fi
fi

# cache_dir NAME: where NAME's binaries live, named by version and the hash of its inputs.
cache_dir() {
  local name=$1 key=${version_of[$1]} dir hash f
  dir="$cache/bin/$name-${!key:?tools/versions.env has no $key}"
  if [ "${inputs_of[$name]}" != - ]; then
    IFS=, read -ra files <<<"${inputs_of[$name]}"
    hash=$(for f in "${files[@]}"; do cat "$root/$f"; done | sha256sum | cut -c1-12)
    dir+="-$hash"
  fi
  echo "$dir"
}

# build NAME DIR: runs build_NAME into a temp dir next to DIR, then renames.
build() {
  local name=$1 dir=$2 bin
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
  if ! "build_$name" "$tmp" >"$tmp.log" 2>&1; then
    tail -n 20 "$tmp.log" >&2
    rm -rf "$tmp"
    die "building $name failed (log above, full log in $tmp.log): check the Go toolchain and the module proxy, then run again"
  fi
  IFS=, read -ra bins <<<"${provides_of[$name]}"
  for bin in "${bins[@]}"; do
    [ -x "$tmp/$bin" ] || die "building $name did not produce $bin (full log in $tmp.log)"
  done
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  rm -f "$tmp.log"
  say "built $name in $((SECONDS - start))s"
  echo "$name=$dir"
}

# How each Go-built row of the table is built (build_<name> OUTPUT-DIR).

# Stamps the version the way Kubernetes' release build does, so `--version` tells the truth.
k8s_ldflags() {
  local v=${KUBERNETES_VERSION#v}
  printf '%s' "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION" \
    " -X k8s.io/component-base/version.gitMajor=${v%%.*}" \
    " -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2)"
}

build_etcd() {
  go build -C "$root/tools/etcd" -trimpath -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3
}

build_kubernetes() {
  go build -C "$root/tools/k8s" -trimpath -ldflags "$(k8s_ldflags)" -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
}

build_kubectl() {
  go build -C "$root/tools/k8s" -trimpath -ldflags "$(k8s_ldflags)" -o "$1/kubectl" k8s.io/kubernetes/cmd/kubectl
}

# The build service: every kustomize build tenantry makes (tools/build/main.go says how it is
# confined). Its go.mod must require the pinned releases, and its copy of kustomize's git repo
# spec parser must be that release's file, byte for byte: it is how remote bases are detected.
build_build() {
  local dir=$root/tools/build upstream
  grep -Eq "^[[:space:]]*sigs.k8s.io/kustomize/api $KUSTOMIZE_API_VERSION( |$)" "$dir/go.mod" ||
    { echo "tools/build/go.mod does not require sigs.k8s.io/kustomize/api $KUSTOMIZE_API_VERSION (tools/versions.env)"; return 1; }
  grep -Eq "^[[:space:]]*github.com/fluxcd/pkg/kustomize $FLUX_KUSTOMIZE_VERSION( |$)" "$dir/go.mod" ||
    { echo "tools/build/go.mod does not require github.com/fluxcd/pkg/kustomize $FLUX_KUSTOMIZE_VERSION (tools/versions.env)"; return 1; }
  # `go list -m` names no directory until the module is downloaded (a new machine's cache is empty).
  (cd "$dir" && go mod download sigs.k8s.io/kustomize/api) || return 1
  upstream=$(go list -C "$dir" -m -f '{{.Dir}}' sigs.k8s.io/kustomize/api)
  [ -n "$upstream" ] || { echo "cannot find sigs.k8s.io/kustomize/api $KUSTOMIZE_API_VERSION in the Go module cache"; return 1; }
  upstream=$upstream/internal/git/repospec.go
  cmp -s "$upstream" "$dir/internal/kustomizegit/repospec.go" ||
    { echo "tools/build/internal/kustomizegit/repospec.go differs from $upstream: copy the pinned release's file"; return 1; }
  go build -C "$dir" -trimpath -ldflags "-s -w" -o "$1/tenantry-build" .
}

# The build service that decrypts SOPS files (tools/build/sops.go, the `sops` build tag): the
# same checks, its own binary, as sops brings every cloud KMS SDK and a slower start.
build_build-sops() {
  local dir=$root/tools/build
  grep -Eq "^[[:space:]]*github.com/getsops/sops/v3 $SOPS_VERSION( |$)" "$dir/go.mod" ||
    { echo "tools/build/go.mod does not require github.com/getsops/sops/v3 $SOPS_VERSION (tools/versions.env)"; return 1; }
  build_build "$1" || return 1
  rm -f "$1/tenantry-build"
  go build -C "$dir" -tags sops -trimpath -ldflags "-s -w" -o "$1/tenantry-build-sops" .
}

# The sops CLI, for the tests only (tenantry itself encrypts and decrypts in tenantry-build-sops):
# its go.mod has no replace lines, so `go install module@version` builds the release.
build_sops() {
  GOBIN="$1" go install -trimpath -ldflags "-s -w" "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION"
}

build_gator() {
  # gator's go.mod has no replace lines, so `go install module@version` builds it exactly as
  # pinned; the version is stamped the way gatekeeper's release build does it.
  GOBIN="$1" go install -ldflags "-s -w -X github.com/open-policy-agent/gatekeeper/v3/pkg/version.Version=$GATOR_VERSION" \
    "github.com/open-policy-agent/gatekeeper/v3/cmd/gator@$GATOR_VERSION"
}

# Gatekeeper's manager, from the same module and version as gator, and the release manifest of
# that version (deploy/gatekeeper.yaml in the module): scripts/local-cluster.sh --with-gatekeeper
# applies its Namespace and CRDs and derives the webhook configuration from it.
build_gatekeeper() {
  local module=github.com/open-policy-agent/gatekeeper/v3 src
  GOBIN="$1" go install -ldflags "-s -w -X $module/pkg/version.Version=$GATOR_VERSION" "$module@$GATOR_VERSION" || return 1
  src=$(go mod download -json "$module@$GATOR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -f "$src/deploy/gatekeeper.yaml" ] || { echo "no deploy/gatekeeper.yaml in $module@$GATOR_VERSION (${src:-not in the module cache})"; return 1; }
  grep -q "image: openpolicyagent/gatekeeper:$GATOR_VERSION\$" "$src/deploy/gatekeeper.yaml" ||
    { echo "$src/deploy/gatekeeper.yaml is not the $GATOR_VERSION release manifest"; return 1; }
  cp "$src/deploy/gatekeeper.yaml" "$1/gatekeeper.yaml"
}

# tenantry's offline ValidatingAdmissionPolicy checker: the API server's own validation and
# CEL compiler from the pinned release (tools/k8s/celcheck).
build_celcheck() {
  go build -C "$root/tools/k8s" -trimpath -ldflags "-s -w" -o "$1/tenantry-celcheck" ./celcheck
}

# tenantry's offline NetworkPolicy judge: cyclonus's matcher library at the pinned version
# (tools/netcheck), whose go.mod must require exactly that version.
build_netcheck() {
  local dir=$root/tools/netcheck
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?github.com/mattfenwick/cyclonus $CYCLONUS_VERSION( |$)" "$dir/go.mod" ||
    { echo "tools/netcheck/go.mod does not require github.com/mattfenwick/cyclonus $CYCLONUS_VERSION (tools/versions.env)"; return 1; }
  go build -C "$dir" -trimpath -ldflags "-s -w" -o "$1/tenantry-netcheck" .
}

# Flux's two controllers for the flux engine (scripts/local-cluster.sh --with-flux), each from a
# wrapper module (tools/flux/{source,kustomize}) that requires the release and its api submodule
# at FLUX_VERSION; their CRDs are copied beside them from the same module versions.
build_flux() {
  local c dir module src
  for c in source kustomize; do
    dir=$root/tools/flux/$c module=github.com/fluxcd/$c-controller
    grep -Eq "^[[:space:]]*$module $FLUX_VERSION( |$)" "$dir/go.mod" ||
      { echo "tools/flux/$c/go.mod does not require $module $FLUX_VERSION (tools/versions.env)"; return 1; }
    grep -Eq "^[[:space:]]*$module/api $FLUX_VERSION( |$)" "$dir/go.mod" ||
      { echo "tools/flux/$c/go.mod does not require $module/api $FLUX_VERSION (tools/versions.env)"; return 1; }
    go build -C "$dir" -trimpath -ldflags "-s -w" -o "$1/$c-controller" "$module" || return 1
    src=$(go mod download -json "$module@$FLUX_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$src/config/crd/bases" ] || { echo "no config/crd/bases in $module@$FLUX_VERSION (${src:-not in the module cache})"; return 1; }
    mkdir -p "$1/crds" && cp "$src"/config/crd/bases/*.yaml "$1/crds/" || return 1
  done
}

for name in "${want[@]}"; do
  [ "${kind_of[$name]}" = go ] || continue
  declare -F "build_$name" >/dev/null || die "tools/tools.txt lists $name but install-tools.sh has no build_$name"
  build "$name" "$(cache_dir "$name")"
done
