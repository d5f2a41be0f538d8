// SOPS files in a build (request field ageIdentities: the text of a team's `.agekey`,
// AGE-SECRET-KEY-1... lines). Every file kustomize reads that carries a SOPS marker is handed
// to decrypt as it is read, in the format its name says (yaml, json, dotenv, ini, else binary),
// as Flux's kustomize-controller reads them; and, as Flux does, only a resource (an encrypted
// manifest) or a secretGenerator input (files, envs) is decrypted: the walk (walk.go) records
// which files those are. Anything else encrypted (a configMapGenerator input, a patch, a
// replacement source) is refused, and a kustomization is never decrypted: the walk judges each
// kustomization by the bytes on disk, so one that decrypted into something else would slip past
// it. The default helper (nosops.go) decrypts nothing: it refuses such a file with one line,
// where kustomize would have built the encrypted text as if it were the object; decryption is
// tenantry-build-sops (sops.go, the `sops` build tag), as sops brings every cloud KMS SDK with
// it and a slower start, and every create-team starts a helper.
//
// The identities and the plaintext never touch disk. A failure names the file and the
// recipients it was encrypted for (public keys), never a value; a failed build that decrypted
// a file says only that it failed and which files it decrypted (kustomize's messages quote what
// they choke on, in forms no search-and-replace can find: escaped, folded, re-encoded). A file
// refused is refused even when kustomize built without it (main.go).
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resource"
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
	// decryptable: what may be decrypted (walker.decryptable): resources and secretGenerator inputs.
	decryptable map[string]string
	failed      *refusal // the first file that could not be decrypted
	decrypted   []string // root-relative, in the order read
	values      []decryptedValue
	// wholes: each decrypted file's whole plaintext (a secretGenerator's files entry takes it whole).
	wholes []string
	// passthrough: validate's build: SOPS files are read with placeholders, never decrypted.
	passthrough bool
	mark        string // the placeholder of this build
}

// placeholderValue: what stands for every encrypted value in validate's build: random per
// build (a team cannot write it in plain text to pass as encrypted), valid base64 (a Secret's
// data stays well-formed).
func (d *decrypter) placeholderValue() string {
	if d.mark == "" {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		d.mark = base64.StdEncoding.EncodeToString(b)
	}
	return d.mark
}

// kept: whether s, a value of a Secret's data (base64) or stringData, came out of a SOPS file.
func (d *decrypter) kept(s string, b64 bool) bool {
	plain := s
	if b64 {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return false
		}
		plain = string(raw)
	}
	for _, v := range d.values {
		if v.value == plain || (b64 && v.value == s) {
			return true
		}
	}
	for _, w := range d.wholes {
		if w == plain {
			return true
		}
	}
	return false
}

// secretName: "Secret <name>", or "the Secret of object N" when its name came out of a SOPS file.
func (d *decrypter) secretName(name string, i int) string {
	for _, v := range d.values {
		if v.value == name || strings.Contains(name, v.value) && len(v.value) >= minLeakCheck {
			return fmt.Sprintf("the Secret of object %d", i+1)
		}
	}
	return "Secret " + name
}

// plainSecrets: an error naming every value of a Secret in the render that no SOPS file kept
// encrypted (request field refusePlainSecrets: a team's Secrets go into Git encrypted).
func (d *decrypter) plainSecrets(objects []*resource.Resource) error {
	var plain []string
	for i, r := range objects {
		if r.GetKind() != "Secret" || r.GetApiVersion() != "v1" {
			continue
		}
		m, err := r.Map()
		if err != nil {
			return refuse("BuildFailed", "cannot read object %d of the render", i+1)
		}
		for _, field := range []string{"data", "stringData"} {
			values, _ := m[field].(map[string]any)
			keys := make([]string, 0, len(values))
			for k := range values {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if !d.kept(fmt.Sprint(values[k]), field == "data") {
					plain = append(plain, fmt.Sprintf("%s %s.%s", d.secretName(r.GetName(), i), field, k))
				}
			}
		}
	}
	if len(plain) == 0 {
		return nil
	}
	if len(plain) > 5 {
		plain = append(plain[:5], fmt.Sprintf("%d more", len(plain)-5))
	}
	return refuse("PlainSecretRefused", "%s: in plain text in Git; a team's Secrets go into Git SOPS-encrypted (tenantry secrets encrypt), unless tenantry.yaml sets spec.allowPlainSecrets", strings.Join(plain, ", "))
}

// decryptedValue: a value a SOPS file kept encrypted, and the file.
type decryptedValue struct {
	file, value string
}

// minLeakCheck: decrypted values shorter than this are not looked for in the render (a
// password of "true" or "1" would refuse every build that says true or 1 anywhere).
const minLeakCheck = 6

// confined: an error when a decrypted value appears in the render anywhere but in a Secret's
// data or stringData (as it is, JSON-escaped or base64-encoded): a replacement or a patch could
// carry it into a name, a namespace or a label, which status, Events and logs repeat. The error
// names the file and the object's kind, never the value (nor the name, which may hold it).
func (d *decrypter) confined(objects []*resource.Resource) error {
	if len(d.values) == 0 {
		return nil
	}
	for i, r := range objects {
		m, err := r.Map()
		if err != nil {
			return refuse("BuildFailed", "cannot read object %d of the render", i+1)
		}
		if r.GetKind() == "Secret" && r.GetApiVersion() == "v1" {
			delete(m, "data")
			delete(m, "stringData")
		}
		text, err := json.Marshal(m)
		if err != nil {
			return refuse("BuildFailed", "cannot read object %d of the render", i+1)
		}
		for _, v := range d.values {
			if len(v.value) < minLeakCheck {
				continue
			}
			quoted, _ := json.Marshal(v.value)
			forms := [][]byte{[]byte(v.value), quoted[1 : len(quoted)-1], []byte(base64.StdEncoding.EncodeToString([]byte(v.value)))}
			for _, f := range forms {
				if bytes.Contains(text, f) {
					return refuse("DecryptionFailed", "a value %s keeps encrypted appears in a %s of the render (object %d) outside a Secret's data: tenantry applies decrypted values only as a Secret's data or stringData (a replacement or a patch copies it out)", v.file, r.GetKind(), i+1)
				}
			}
		}
	}
	return nil
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
	switch {
	case d.kustomizations[path] || slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path)):
		err = refuse("DecryptionFailed", "%s is a SOPS-encrypted kustomization: tenantry decrypts resources and secretGenerator inputs only, never a kustomization (keep it in plain text)", name)
	case d.decryptable[filepath.Clean(path)] == "resources" && f != sopsYAML && f != sopsJSON:
		err = refuse("DecryptionFailed", "%s is a SOPS-encrypted %s file listed as a resource: tenantry decrypts manifests as YAML or JSON only (as Flux does)", name, f.String())
	case d.passthrough && d.decryptable[filepath.Clean(path)] == "":
		err = refuse("DecryptionFailed", "%s is SOPS-encrypted, but it is not a resource or a secretGenerator input, the only files tenantry decrypts (as Flux does): keep it in plain text, or move its secret values into a Secret", name)
	case d.passthrough:
		plain, err = d.placeholder(name, data, f)
	case len(d.ids) == 0:
		plain, err = d.decrypt(name, data, f) // refused: no identity (decrypt says so, naming the recipients)
	case d.decryptable[filepath.Clean(path)] == "":
		err = refuse("DecryptionFailed", "%s is SOPS-encrypted, but it is not a resource or a secretGenerator input, the only files tenantry decrypts (as Flux does): keep it in plain text, or move its secret values into a Secret", name)
	default:
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
