//go:build sops

// The decryption of tenantry-build-sops (sopsfiles.go says where it is used). The key service is
// sops' own local client over a server that knows age and nothing else: no environment
// variable, key file, plugin or cloud KMS is ever consulted (sops' age master key reads
// SOPS_AGE_KEY* and ~/.config when it is handed no identities, so it never is), and the
// identities are parsed with age.ParseIdentities, which takes X25519 and post-quantum keys only
// (an AGE-PLUGIN- line would run a program from PATH).
package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/common"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/logging"
	"github.com/getsops/sops/v3/version"
)

const decrypts = true

// ageRecipient: what an age recipient looks like (X25519 or post-quantum), as src/model/team-spec.ts says.
var ageRecipient = regexp.MustCompile(`^age1[0-9a-z]{58,}$`)

type identities = sopsage.ParsedIdentities

func init() {
	// sops logs through logrus to stderr; nothing of a decryption is worth a line there.
	logging.SetLevel(0)
}

// parseIdentities: the age identities of a request, X25519 and post-quantum only; nil for none.
func parseIdentities(text string) (identities, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	ids, err := age.ParseIdentities(strings.NewReader(text))
	if err != nil {
		// age's message may quote the line: say only what is wrong.
		return nil, refuse("BadRequest", "ageIdentities is not a list of age identities (the lines age-keygen writes)")
	}
	return sopsage.ParsedIdentities(ids), nil
}

// ageOnly is a sops key service that decrypts data keys with the request's age identities and
// encrypts them for age recipients; every other kind of key is refused.
type ageOnly struct {
	keyservice.UnimplementedKeyServiceServer
	ids sopsage.ParsedIdentities
}

func (s ageOnly) Decrypt(_ context.Context, r *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	k, ok := r.GetKey().GetKeyType().(*keyservice.Key_AgeKey)
	if !ok {
		return nil, errors.New("only age keys are used")
	}
	if len(s.ids) == 0 {
		return nil, errors.New("no age identity")
	}
	mk := sopsage.MasterKey{Recipient: k.AgeKey.GetRecipient()}
	s.ids.ApplyToMasterKey(&mk)
	mk.SetEncryptedDataKey(r.GetCiphertext())
	plain, err := mk.Decrypt()
	if err != nil {
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

func (s ageOnly) Encrypt(_ context.Context, r *keyservice.EncryptRequest) (*keyservice.EncryptResponse, error) {
	k, ok := r.GetKey().GetKeyType().(*keyservice.Key_AgeKey)
	if !ok {
		return nil, errors.New("only age keys are used")
	}
	mk := sopsage.MasterKey{Recipient: k.AgeKey.GetRecipient()}
	if err := mk.Encrypt(r.GetPlaintext()); err != nil {
		return nil, err
	}
	return &keyservice.EncryptResponse{Ciphertext: mk.EncryptedDataKey()}, nil
}

// storeFormat: sops' name for a format.
func storeFormat(f sopsFormat) formats.Format {
	return [...]formats.Format{formats.Binary, formats.Yaml, formats.Json, formats.Dotenv, formats.Ini}[f]
}

func (d *decrypter) decrypt(name string, data []byte, f sopsFormat) (out []byte, failed *refusal) {
	defer func() {
		if r := recover(); r != nil {
			out, failed = nil, refuse("DecryptionFailed", "%s is SOPS-encrypted and could not be decrypted (sops failed on it)", name)
		}
	}()
	store := common.StoreForFormat(storeFormat(f), config.NewStoresConfig())
	tree, err := store.LoadEncryptedFile(data)
	if err != nil {
		return nil, refuse("DecryptionFailed", "%s carries a SOPS marker but is not a SOPS %s file", name, f.String())
	}
	if len(d.ids) == 0 {
		return nil, refuse("DecryptionFailed", "%s is SOPS-encrypted (for %s), and this build has no age identity to decrypt it", name, recipients(tree))
	}
	enc, total := countLeaves(tree.Branches)
	if enc == 0 {
		return nil, refuse("DecryptionFailed", "%s carries SOPS metadata but none of its values is encrypted (its encrypted_regex or suffix matches nothing): what it holds is in plain text in Git", name)
	}
	ks := []keyservice.KeyServiceClient{keyservice.NewCustomLocalClient(ageOnly{ids: d.ids})}
	if _, err := tree.Metadata.GetDataKeyWithKeyServices(ks, []string{"age"}); err != nil {
		return nil, refuse("DecryptionFailed", "%s is SOPS-encrypted for %s, which this team's age identity does not open (encrypt it with the recipient in .sops.yaml)", name, recipients(tree))
	}
	sealed, _ := store.LoadEncryptedFile(data) // the same tree, left encrypted: which values were
	if _, err := common.DecryptTree(common.DecryptTreeOpts{Tree: &tree, KeyServices: ks, DecryptionOrder: []string{"age"}, Cipher: aes.NewCipher()}); err != nil {
		return nil, refuse("DecryptionFailed", "%s was changed after it was encrypted (a value or its MAC does not verify): encrypt it again", name)
	}
	for _, v := range secretValues(sealed.Branches, tree.Branches) {
		d.values = append(d.values, decryptedValue{file: name, value: v})
	}
	plain, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, refuse("DecryptionFailed", "%s was decrypted but cannot be written out as %s", name, f.String())
	}
	if enc == total {
		// Every value was encrypted: the whole text is the file's secret (a generator's files entry).
		d.wholes = append(d.wholes, string(plain))
	}
	return plain, nil
}

// placeholder: what validate builds instead of decrypting: the SOPS file with every encrypted
// value replaced by PLACEHOLDER (valid base64, so a Secret's data stays well-formed) and its
// metadata dropped. Nothing is decrypted; no identity is needed.
func (d *decrypter) placeholder(name string, data []byte, f sopsFormat) ([]byte, *refusal) {
	store := common.StoreForFormat(storeFormat(f), config.NewStoresConfig())
	tree, err := store.LoadEncryptedFile(data)
	if err != nil {
		return nil, refuse("DecryptionFailed", "%s carries a SOPS marker but is not a SOPS %s file", name, f.String())
	}
	enc, total := countLeaves(tree.Branches)
	if enc == 0 {
		return nil, refuse("DecryptionFailed", "%s carries SOPS metadata but none of its values is encrypted (its encrypted_regex or suffix matches nothing): what it holds is in plain text in Git", name)
	}
	mark := d.placeholderValue()
	var walk func(v any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case sops.TreeBranch:
			for i := range t {
				t[i].Value = walk(t[i].Value)
			}
			return t
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
			return t
		case string:
			if strings.HasPrefix(t, "ENC[") {
				return mark
			}
		}
		return v
	}
	for i := range tree.Branches {
		tree.Branches[i] = walk(tree.Branches[i]).(sops.TreeBranch)
	}
	plain, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, refuse("DecryptionFailed", "%s cannot be written out as %s", name, f.String())
	}
	d.values = append(d.values, decryptedValue{file: name, value: mark})
	if enc == total {
		d.wholes = append(d.wholes, string(plain))
	}
	return plain, nil
}

// recipients: the age recipients a file is encrypted for, or what keys it names instead.
func recipients(tree sops.Tree) string {
	var age, other []string
	for _, g := range tree.Metadata.KeyGroups {
		for _, k := range g {
			if a, ok := k.(*sopsage.MasterKey); ok {
				age = append(age, a.Recipient)
			} else {
				other = append(other, k.TypeToIdentifier())
			}
		}
	}
	// The metadata is the repo's text: only what is an age recipient is named, five at most.
	valid := age[:0]
	for _, r := range age {
		if len(r) <= 8000 && ageRecipient.MatchString(r) {
			valid = append(valid, r)
		}
	}
	sort.Strings(valid)
	if len(valid) > 5 {
		valid = append(valid[:5], fmt.Sprintf("%d more", len(valid)-5))
	}
	if len(valid) == 0 {
		kinds := map[string]bool{}
		for _, o := range other {
			kinds[o] = true
		}
		names := make([]string, 0, len(kinds))
		for k := range kinds {
			if len(k) <= 20 {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		return fmt.Sprintf("no age recipient (only %s keys)", strings.Join(names, ", "))
	}
	return strings.Join(valid, ", ")
}

// serveOp answers the requests other than a build: age-keygen, age-recipients, encrypt,
// reencrypt and file-recipients.
func serveOp(req request) response {
	switch req.Op {
	case "age-keygen":
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return response{ID: req.ID, Reason: "BuildFailed", Error: fmt.Sprintf("cannot make an age identity: %v", err)}
		}
		return response{ID: req.ID, Identity: id.String(), Recipient: id.Recipient().String()}
	case "age-recipients":
		// The recipients of the identities in AgeIdentities, one a line (a Secret's, made before).
		ids, err := age.ParseIdentities(strings.NewReader(req.AgeIdentities))
		if err != nil {
			return response{ID: req.ID, Reason: "BadRequest", Error: "ageIdentities is not a list of age identities (the lines age-keygen writes)"}
		}
		var out []string
		for _, id := range ids {
			switch t := id.(type) {
			case *age.X25519Identity:
				out = append(out, t.Recipient().String())
			case *age.HybridIdentity:
				out = append(out, t.Recipient().String())
			}
		}
		return response{ID: req.ID, Recipient: strings.Join(out, "\n")}
	case "file-recipients":
		// The age recipients a SOPS file (Text, its format by File) is encrypted for, one a line;
		// Reason NotEncrypted when it is no SOPS file.
		f := formatOf(req.File)
		if !encrypted([]byte(req.Text), f) {
			return response{ID: req.ID, Reason: "NotEncrypted", Error: fmt.Sprintf("%s is not SOPS-encrypted", req.File)}
		}
		tree, err := common.StoreForFormat(storeFormat(f), config.NewStoresConfig()).LoadEncryptedFile([]byte(req.Text))
		if err != nil {
			return response{ID: req.ID, Reason: "DecryptionFailed", Error: fmt.Sprintf("%s carries a SOPS marker but is not a SOPS %s file", req.File, f.String())}
		}
		return response{ID: req.ID, Recipient: strings.Join(ageRecipientsOf(tree), "\n")}
	case "reencrypt":
		// Text (a SOPS file, File its name) decrypted with AgeIdentities and encrypted again, with
		// a new data key, by the creation rule for File in SopsConfig: the plaintext stays here.
		f := formatOf(req.File)
		if !encrypted([]byte(req.Text), f) {
			return response{ID: req.ID, Reason: "NotEncrypted", Error: fmt.Sprintf("%s is not SOPS-encrypted", req.File)}
		}
		ids, err := parseIdentities(req.AgeIdentities)
		if err != nil {
			var r *refusal
			errors.As(err, &r)
			return response{ID: req.ID, Reason: r.reason, Error: r.message}
		}
		sealed, err := common.StoreForFormat(storeFormat(f), config.NewStoresConfig()).LoadEncryptedFile([]byte(req.Text))
		if err != nil {
			return response{ID: req.ID, Reason: "DecryptionFailed", Error: fmt.Sprintf("%s carries a SOPS marker but is not a SOPS %s file", req.File, f.String())}
		}
		before, _ := countLeaves(sealed.Branches)
		d := &decrypter{ids: ids}
		plain, failed := d.decrypt(req.File, []byte(req.Text), f)
		if failed != nil {
			return response{ID: req.ID, Reason: failed.reason, Error: failed.message}
		}
		again := req
		again.Text = string(plain)
		// The file's own choice of what is encrypted (regex, suffix) stays; only the recipients change.
		text, failed := encryptWith(again, &sealed.Metadata)
		if failed != nil {
			return response{ID: req.ID, Reason: failed.reason, Error: failed.message}
		}
		tree, _ := common.StoreForFormat(storeFormat(f), config.NewStoresConfig()).LoadEncryptedFile([]byte(text))
		if after, _ := countLeaves(tree.Branches); after < before {
			return response{ID: req.ID, Reason: "EncryptFailed", Error: fmt.Sprintf("%s: encrypted again it would hold %d encrypted values, not %d: nothing was changed", req.File, after, before)}
		}
		return response{ID: req.ID, Text: text}
	case "encrypt":
		text, err := encryptFile(req)
		if err != nil {
			return response{ID: req.ID, Reason: err.reason, Error: err.message}
		}
		return response{ID: req.ID, Text: text}
	}
	return response{ID: req.ID, Reason: "BadRequest", Error: fmt.Sprintf("unknown op %q", req.Op)}
}

// encryptFile: req.Text encrypted as sops would encrypt req.File with the creation rule for it
// in req.SopsConfig (sops' own config loading and encryption, cmd/sops/encrypt.go), for age
// recipients only. A message never quotes the text.
func encryptFile(req request) (string, *refusal) { return encryptWith(req, nil) }

// encryptWith: encryptFile, with what is encrypted (suffixes, regexes) taken from keep when given
// (a re-encryption keeps the file's own choice), the recipients from the creation rule.
func encryptWith(req request, keep *sops.Metadata) (string, *refusal) {
	name := req.File
	if req.SopsConfig == "" || !filepath.IsAbs(req.SopsConfig) {
		return "", refuse("BadRequest", "encrypt needs sopsConfig, the absolute path of the .sops.yaml")
	}
	conf, err := config.LoadCreationRuleForFile(req.SopsConfig, req.File, nil)
	if err != nil {
		return "", refuse("EncryptFailed", "%s: the creation rules in %s: %v", name, req.SopsConfig, err)
	}
	if conf == nil || len(conf.KeyGroups) == 0 {
		return "", refuse("EncryptFailed", "%s: %s has no creation rule with a recipient for it", name, req.SopsConfig)
	}
	for _, g := range conf.KeyGroups {
		for _, k := range g {
			if _, ok := k.(*sopsage.MasterKey); !ok {
				return "", refuse("EncryptFailed", "%s: the creation rule for it in %s names a %s key: tenantry encrypts for age recipients only", name, req.SopsConfig, k.TypeToIdentifier())
			}
		}
	}
	f := formatOf(req.File)
	store := common.StoreForFormat(storeFormat(f), config.NewStoresConfig())
	branches, err := store.LoadPlainFile([]byte(req.Text))
	if err != nil {
		return "", refuse("EncryptFailed", "%s is not a %s file sops can read", name, f.String())
	}
	if len(branches) == 0 {
		return "", refuse("EncryptFailed", "%s is empty: nothing to encrypt", name)
	}
	if store.HasSopsTopLevelKey(branches[0]) {
		return "", refuse("EncryptFailed", "%s is already SOPS-encrypted (it has a top-level sops entry)", name)
	}
	meta := sops.Metadata{
		KeyGroups:               conf.KeyGroups,
		UnencryptedSuffix:       conf.UnencryptedSuffix,
		EncryptedSuffix:         conf.EncryptedSuffix,
		UnencryptedRegex:        conf.UnencryptedRegex,
		EncryptedRegex:          conf.EncryptedRegex,
		UnencryptedCommentRegex: conf.UnencryptedCommentRegex,
		EncryptedCommentRegex:   conf.EncryptedCommentRegex,
		MACOnlyEncrypted:        conf.MACOnlyEncrypted,
		Version:                 version.Version,
		ShamirThreshold:         conf.ShamirThreshold,
	}
	if keep != nil {
		meta.UnencryptedSuffix, meta.EncryptedSuffix = keep.UnencryptedSuffix, keep.EncryptedSuffix
		meta.UnencryptedRegex, meta.EncryptedRegex = keep.UnencryptedRegex, keep.EncryptedRegex
		meta.UnencryptedCommentRegex, meta.EncryptedCommentRegex = keep.UnencryptedCommentRegex, keep.EncryptedCommentRegex
		meta.MACOnlyEncrypted = keep.MACOnlyEncrypted
	}
	if f != sopsBinary && meta.UnencryptedSuffix == "" && meta.EncryptedSuffix == "" && meta.UnencryptedRegex == "" && meta.EncryptedRegex == "" && meta.UnencryptedCommentRegex == "" && meta.EncryptedCommentRegex == "" {
		meta.UnencryptedSuffix = sops.DefaultUnencryptedSuffix // as the sops CLI does
	}
	tree := sops.Tree{Branches: branches, Metadata: meta, FilePath: req.File}
	dataKey, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{keyservice.NewCustomLocalClient(ageOnly{})})
	if len(errs) > 0 {
		return "", refuse("EncryptFailed", "%s: cannot encrypt the data key for %s: %v", name, recipients(tree), errs)
	}
	if err := common.EncryptTree(common.EncryptTreeOpts{DataKey: dataKey, Tree: &tree, Cipher: aes.NewCipher()}); err != nil {
		return "", refuse("EncryptFailed", "%s could not be encrypted", name)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		return "", refuse("EncryptFailed", "%s was encrypted but cannot be written out as %s", name, f.String())
	}
	if enc, _ := countLeaves(tree.Branches); enc == 0 {
		return "", refuse("EncryptFailed", "%s: the creation rule for it in %s encrypts none of its values (its encrypted_regex or suffix matches no key): it would go into Git in plain text", name, req.SopsConfig)
	}
	return string(out), nil
}

// countLeaves: how many values of a tree are encrypted (ENC[...] strings), and how many values
// it has (comments aside), from the parsed file: a comment quoting ENC[ counts for nothing.
func countLeaves(branches sops.TreeBranches) (enc, total int) {
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case sops.TreeBranch:
			for _, item := range t {
				if _, comment := item.Key.(sops.Comment); comment {
					continue
				}
				walk(item.Value)
			}
		case []any:
			for _, e := range t {
				if _, comment := e.(sops.Comment); comment {
					continue
				}
				walk(e)
			}
		default:
			total++
			if s, ok := t.(string); ok && strings.HasPrefix(s, "ENC[") {
				enc++
			}
		}
	}
	for _, b := range branches {
		walk(b)
	}
	return enc, total
}

// ageRecipientsOf: every age recipient a file's metadata names that looks like one, uncapped.
func ageRecipientsOf(tree sops.Tree) []string {
	var out []string
	for _, g := range tree.Metadata.KeyGroups {
		for _, k := range g {
			if a, ok := k.(*sopsage.MasterKey); ok && len(a.Recipient) <= 8000 && ageRecipient.MatchString(a.Recipient) {
				out = append(out, a.Recipient)
			}
		}
	}
	sort.Strings(out)
	return out
}

// secretValues: the values of decrypted that were encrypted in sealed (the same tree before
// decryption): what the file kept secret.
func secretValues(sealed, decrypted sops.TreeBranches) []string {
	var out []string
	var pair func(a, b any)
	pair = func(a, b any) {
		switch ta := a.(type) {
		case sops.TreeBranch:
			tb, ok := b.(sops.TreeBranch)
			for i := 0; ok && i < len(ta) && i < len(tb); i++ {
				pair(ta[i].Value, tb[i].Value)
			}
		case []any:
			tb, ok := b.([]any)
			for i := 0; ok && i < len(ta) && i < len(tb); i++ {
				pair(ta[i], tb[i])
			}
		case string:
			if strings.HasPrefix(ta, "ENC[") && b != nil {
				out = append(out, fmt.Sprint(b))
			}
		}
	}
	for i := 0; i < len(sealed) && i < len(decrypted); i++ {
		pair(sealed[i], decrypted[i])
	}
	return out
}
