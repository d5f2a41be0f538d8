// SOPS files in a build (request field ageIdentities: the text of a team's `.agekey`,
// AGE-SECRET-KEY-1... lines). Every file kustomize reads that carries a SOPS marker is handed
// to decrypt as it is read: an encrypted manifest (a Secret whose data and stringData are
// encrypted) and a generator's input (secretGenerator files and envs) alike, in the format its
// name says (yaml, json, dotenv, ini, else binary), as Flux's kustomize-controller reads them.
// The default helper (nosops.go) decrypts nothing: it refuses such a file with one line, where
// kustomize would have built the encrypted text as if it were the object. Decryption (issue 22)
// is to be a helper of its own built with a `sops` build tag: sops brings every cloud KMS SDK
// with it (about 1000 packages; the helper's start went from 7 to 21-34 ms when tried), and
// every create-team starts a helper.
//
// The identities and the plaintext never touch disk. A failure names the file and the
// recipients it was encrypted for (public keys), never a value; a failed build that decrypted
// a file says only that it failed and which files it decrypted (kustomize's messages quote what
// they choke on, in forms no search-and-replace can find: escaped, folded, re-encoded). A
// kustomization is never decrypted: the walk (walk.go) judges each kustomization by the bytes
// on disk, so one that decrypted into something else would slip past it.
package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// sopsFormat: the format a file's name says.
type sopsFormat int

const (
	sopsBinary sopsFormat = iota
	sopsYAML
	sopsJSON
	sopsDotenv
	sopsINI
)

func (f sopsFormat) String() string {
	return [...]string{"binary", "yaml", "json", "dotenv", "ini"}[f]
}

// formatOf: the sops format a file's name says, as Flux's kustomize-controller reads it.
func formatOf(path string) sopsFormat {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return sopsYAML
	case ".json", ".dockerconfigjson":
		return sopsJSON
	case ".env":
		return sopsDotenv
	case ".ini":
		return sopsINI
	}
	return sopsBinary
}

// SOPS' metadata as each format writes it: the top-level sops key (section, prefix) and its
// MAC, which sops always writes. A value that merely quotes "mac: ENC[" is no SOPS file.
var (
	yamlSops   = regexp.MustCompile(`(?m)^sops:[ \t]*\r?$`)
	yamlMac    = regexp.MustCompile(`(?m)^[ \t]+mac: ENC\[`)
	dotenvMac  = regexp.MustCompile(`(?m)^sops_mac=ENC\[`)
	iniSection = regexp.MustCompile(`(?m)^\[sops\][ \t]*\r?$`)
)

// encrypted: whether data carries the SOPS metadata of its format.
func encrypted(data []byte, f sopsFormat) bool {
	switch f {
	case sopsYAML:
		return yamlSops.Match(data) && yamlMac.Match(data)
	case sopsDotenv:
		return dotenvMac.Match(data)
	case sopsINI:
		return iniSection.Match(data) && bytes.Contains(data, []byte("mac = ENC["))
	}
	return bytes.Contains(data, []byte(`"sops": {`)) && bytes.Contains(data, []byte(`"mac": "ENC[`))
}

// decrypter decrypts the SOPS files of one build and remembers which it decrypted.
type decrypter struct {
	root string
	ids  identities
	// kustomizations: the kustomization files the walk read (absolute): never decrypted.
	kustomizations map[string]bool
	failed         *refusal // the first file that could not be decrypted
	decrypted      []string // root-relative, in the order read
}

func (d *decrypter) rel(path string) string {
	if r, err := filepath.Rel(d.root, path); err == nil && filepath.IsLocal(r) {
		return filepath.ToSlash(r)
	}
	return filepath.Base(path)
}

// open: data as it is to be read, decrypted when it is a SOPS file.
func (d *decrypter) open(path string, data []byte) ([]byte, error) {
	f := formatOf(path)
	if !encrypted(data, f) {
		return data, nil
	}
	name := d.rel(path)
	var plain []byte
	var err *refusal
	if d.kustomizations[path] || slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path)) {
		err = refuse("DecryptionFailed", "%s is a SOPS-encrypted kustomization: tenantry decrypts resources and generator inputs only, never a kustomization (keep it in plain text)", name)
	} else {
		plain, err = d.decrypt(name, data, f)
	}
	if err != nil {
		if d.failed == nil {
			d.failed = err
		}
		return nil, err
	}
	if !slices.Contains(d.decrypted, name) {
		d.decrypted = append(d.decrypted, name)
	}
	return plain, nil
}

// withheld: r, or, when this build decrypted a file, a message that names the files and not
// what kustomize said (which may quote a decrypted value).
func (d *decrypter) withheld(dir string, r *refusal) *refusal {
	if len(d.decrypted) == 0 {
		return r
	}
	return refuse(r.reason, "kustomize build %s failed after decrypting %s; its message is withheld, as it may quote a decrypted value (build a decrypted copy locally to see it)", dir, strings.Join(d.decrypted, ", "))
}

// decrypting is a build's file system with SOPS files decrypted as they are read.
type decrypting struct {
	filesys.FileSystem
	d *decrypter
}

func (f decrypting) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return f.d.open(path, data)
}

// Open: a directory or a file that is not SOPS-encrypted as the wrapped file system opens it;
// a decrypted file from memory (kustomize reads with ReadFile; this keeps Open honest).
func (f decrypting) Open(path string) (filesys.File, error) {
	if f.FileSystem.IsDir(path) {
		return f.FileSystem.Open(path)
	}
	raw, err := f.FileSystem.ReadFile(path)
	if err != nil || !encrypted(raw, formatOf(path)) {
		return f.FileSystem.Open(path)
	}
	data, err := f.d.open(path, raw)
	if err != nil {
		return nil, err
	}
	mem := filesys.MakeFsInMemory()
	if err := mem.WriteFile(path, data); err != nil {
		return nil, err
	}
	return mem.Open(path)
}
