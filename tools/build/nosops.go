//go:build !sops

// The default helper's side of sopsfiles.go: it decrypts nothing. A request with identities is
// refused, and so is a build that reads a SOPS file.
package main

import "strings"

const decrypts = false

type identities []string

func parseIdentities(text string) (identities, error) {
	if strings.TrimSpace(text) != "" {
		return nil, refuse("BadRequest", "this build service does not decrypt: ageIdentities refused")
	}
	return nil, nil
}

func (d *decrypter) decrypt(name string, _ []byte, f sopsFormat) ([]byte, *refusal) {
	return nil, refuse("DecryptionFailed", "%s is a SOPS-encrypted %s file, and tenantry does not decrypt SOPS files yet: keep it out of the repo (or out of the kustomization) for now", name, f.String())
}
