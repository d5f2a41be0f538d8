//go:build !sops

// The default helper's side of sopsfiles.go: it decrypts nothing. A request with identities is
// refused, and so is a build that reads a SOPS file; tenantry sends the builds that carry age
// identities to tenantry-build-sops (sops.go).
package main

import (
	"fmt"
	"strings"
)

const decrypts = false

type identities []string

func parseIdentities(text string) (identities, error) {
	if strings.TrimSpace(text) != "" {
		return nil, refuse("BadRequest", "this build service does not decrypt: ageIdentities refused")
	}
	return nil, nil
}

func (d *decrypter) decrypt(name string, _ []byte, f sopsFormat) ([]byte, *refusal) {
	return nil, refuse("DecryptionFailed", "%s is a SOPS-encrypted %s file, and this build has no age identity to decrypt it: a team's GitSync decrypts with spec.decryption (`tenantry secrets init <team>`); anywhere else keep it out of the kustomization", name, f.String())
}

// placeholder: the default helper reads no SOPS file (tenantry sends such builds to tenantry-build-sops).
func (d *decrypter) placeholder(name string, _ []byte, _ sopsFormat) ([]byte, *refusal) {
	return nil, refuse("BadRequest", "%s: this build service does not read SOPS files (tenantry-build-sops does)", name)
}

// serveOp: the default helper makes no keys and encrypts nothing (tenantry-build-sops does).
func serveOp(req request) response {
	return response{ID: req.ID, Reason: "BadRequest", Error: fmt.Sprintf("op %q: this build service does not handle SOPS (tenantry-build-sops does)", req.Op)}
}
