// Builds Flux's kustomize-controller at the pinned release for the local control plane
// (scripts/local-cluster.sh --with-flux). The release's go.mod replaces its ./api submodule,
// which a module download does not hold, so this wrapper requires the controller and its api
// module at the same version and repeats the release's other replace lines.
module tenantry.dev/tools/flux/kustomize

go 1.26.0

require (
	github.com/fluxcd/kustomize-controller v1.9.6
	github.com/fluxcd/kustomize-controller/api v1.9.6
)

// As in kustomize-controller v1.9.6's go.mod.
replace github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be

replace (
	sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1
	sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1
)

replace gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1
