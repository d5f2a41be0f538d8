// Builds Flux's source-controller at the pinned release for the local control plane
// (scripts/local-cluster.sh --with-flux). The release's go.mod replaces its ./api submodule,
// which a module download does not hold, so this wrapper requires the controller and its api
// module at the same version and repeats the release's other replace lines.
module tenantry.dev/tools/flux/source

go 1.26.0

require (
	github.com/fluxcd/source-controller v1.9.6
	github.com/fluxcd/source-controller/api v1.9.6
)

// As in source-controller v1.9.6's go.mod.
replace github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be

// The module proxy reachable here does not serve github.com/fluxcd/pkg/artifact v0.18.3
// (403); v0.18.0 is the nearest release it serves, same minor version.
replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0
