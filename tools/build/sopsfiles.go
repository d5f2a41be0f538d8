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
// recipients it was encrypted for (public keys), never a value; a failed build that read a
// decrypted file has every decrypted value taken out of kustomize's message.
package main

import (
	"bytes"
	"encoding/base64"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

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

// decrypter decrypts the SOPS files of one build and remembers what it took out.
type decrypter struct {
	root   string
	ids    identities
	failed *refusal // the first file that could not be decrypted
	values []string // every decrypted value, to be kept out of messages
}

func (d *decrypter) rel(path string) string {
	if r, err := filepath.Rel(d.root, path); err == nil && filepath.IsLocal(r) {
		return r
	}
	return filepath.Base(path)
}

// open: data as it is to be read, decrypted when it is a SOPS file.
func (d *decrypter) open(path string, data []byte) ([]byte, error) {
	f := formatOf(path)
	if !encrypted(data, f) {
		return data, nil
	}
	plain, err := d.decrypt(d.rel(path), data, f)
	if err != nil {
		if d.failed == nil {
			d.failed = err
		}
		return nil, err
	}
	return plain, nil
}

// scrub: msg with every decrypted value (and its base64) taken out. Values under three
// characters are left: they would take the message apart and say next to nothing.
func (d *decrypter) scrub(msg string) string {
	vals := append([]string(nil), d.values...)
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		if len(v) < 3 {
			continue
		}
		msg = strings.ReplaceAll(msg, v, "[decrypted value]")
		msg = strings.ReplaceAll(msg, base64.StdEncoding.EncodeToString([]byte(v)), "[decrypted value]")
	}
	return msg
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

// Open serves a decrypted file from memory (kustomize reads with ReadFile; this keeps Open honest).
func (f decrypting) Open(path string) (filesys.File, error) {
	data, err := f.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mem := filesys.MakeFsInMemory()
	if err := mem.WriteFile(path, data); err != nil {
		return nil, err
	}
	return mem.Open(path)
}
