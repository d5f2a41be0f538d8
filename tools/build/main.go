// tenantry-build is the build service: every kustomize build tenantry makes (the reconciler's
// admin and team builds, validate, plan, create-team) goes through it. A team repo is hostile,
// and the central agent builds it with the agent's rights, so a build must never fetch,
// execute or read anything outside the checkout:
//
//   - Before kustomize sees a file, every kustomization the build will read is walked and each
//     entry of each field kustomize loads is classified with kustomize's own remote detection:
//     the loader's git repo spec parser (internal/kustomizegit, a verbatim copy of
//     sigs.k8s.io/kustomize/api/internal/git/repospec.go at the pinned release; install-tools.sh
//     refuses to build when the copy differs) and its remote-file rule (http and https URLs).
//     Field names are matched the way kustomize matches them, because the walk decodes with
//     kustomize's own types (case-insensitive keys, anchors, legacy fields folded in). Any
//     remote entry refuses the build, naming the file, field and entry; so does Helm, an entry
//     that leads outside the checkout (a symlink included), a file that is not a regular file,
//     and a cycle among kustomizations.
//   - The build itself is Flux's secure build (github.com/fluxcd/pkg/kustomize): a file system
//     confined to the checkout, builtin plugins only, no exec or container functions; only
//     its per-build reparse of the OpenAPI schema is skipped where it cannot matter
//     (buildConfined).
//   - The checkout and the render are bounded in size, the address space by --max-memory
//     (RLIMIT_AS); the caller bounds time (it kills the process) and starts it with no git on
//     PATH, a HOME of its own and proxies pointing nowhere.
//
// Protocol: one JSON request a line on stdin, one JSON answer a line on stdout, in order.
//
//	{"id":1,"root":"/abs/checkout","dir":"cluster/team1","origin":true,"maxCheckoutBytes":N,"maxRenderBytes":N,"format":"json","files":{"cluster/team1/kustomization.yaml":"..."}}
//	{"id":1,"yaml":"..."}                       (format yaml, the default)
//	{"id":1,"objects":[{...},...],"bytes":N}    (format json: objects.go, kustomize's JSON of each object)
//	{"id":1,"reason":"RemoteBaseRefused","error":"...","problems":[{"file":"k.yaml","message":"..."}]}
//
// With origin, every object carries kustomize's config.kubernetes.io/origin annotation, its
// path relative to dir. With files, those paths are read from the request, not the disk
// (overlay.go); a request line may hold up to 64 MiB. `tenantry-build --version` prints the pinned releases it was built with.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	securefs "github.com/fluxcd/pkg/kustomize/filesys"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/yaml"

	kgit "tenantry.dev/tools/build/internal/kustomizegit"
)

type request struct {
	ID               int64  `json:"id"`
	Root             string `json:"root"`
	Dir              string `json:"dir"`
	Origin           bool   `json:"origin"`
	MaxCheckoutBytes int64  `json:"maxCheckoutBytes"`
	MaxRenderBytes   int64  `json:"maxRenderBytes"`
	// Format: "yaml" (the default: the YAML stream, as kustomize build prints it) or "json"
	// (the objects as a JSON array, in the same order and with the same keys in the same order).
	Format string `json:"format"`
	// Files: root-relative paths and their contents, laid over the checkout in memory (overlay.go).
	Files map[string]string `json:"files"`
	// AgeIdentities: the team's age identities (a .agekey file's text), which decrypt the SOPS
	// files the build reads (sopsfiles.go, sops.go). Never written anywhere, never in an answer.
	AgeIdentities string `json:"ageIdentities"`
	// Op: "build" (the default), or, in tenantry-build-sops only, "age-keygen" (a new age
	// identity and its recipient), "age-recipients" (the recipients of AgeIdentities, one a
	// line), "encrypt" (Text encrypted as File, by the creation rule for File in the
	// .sops.yaml at SopsConfig), "reencrypt" (Text decrypted with AgeIdentities and encrypted
	// so) and "file-recipients" (whom the SOPS file Text is encrypted for): sops.go.
	// RefusePlainSecrets: a v1 Secret of the render with a value no SOPS file kept encrypted
	// refuses the build (PlainSecretRefused). SopsPassthrough: validate's build, in
	// tenantry-build-sops: SOPS files are read with every encrypted value a placeholder, never
	// decrypted (with no identities).
	RefusePlainSecrets bool   `json:"refusePlainSecrets"`
	SopsPassthrough    bool   `json:"sopsPassthrough"`
	Op                 string `json:"op"`
	File               string `json:"file"`
	Text               string `json:"text"`
	SopsConfig         string `json:"sopsConfig"`
}

type response struct {
	ID   int64  `json:"id"`
	YAML string `json:"yaml,omitempty"`
	// Objects: with format json, the array of objects (Bytes: its length in bytes).
	Objects json.RawMessage `json:"objects,omitempty"`
	Bytes   int             `json:"bytes,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Error   string          `json:"error,omitempty"`
	// Problems: each file and what is wrong with it, when the walk refused the build.
	Problems []problem `json:"problems,omitempty"`
	// Identity, Recipient: op age-keygen's answer. Text: op encrypt's.
	Identity  string `json:"identity,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	Text      string `json:"text,omitempty"`
}

// refusal is a build that must not run or did not succeed, with the reason the caller reports.
type refusal struct {
	reason   string
	message  string
	problems []problem
}

func (r *refusal) Error() string { return r.message }

func refuse(reason, format string, args ...any) *refusal {
	return &refusal{reason: reason, message: fmt.Sprintf(format, args...)}
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Printf("tenantry-build %s\n", versions())
		return
	}
	// --max-memory BYTES: a hard cap on the address space (RLIMIT_AS). A build past it makes
	// the process die, which the caller reports; it can never take the machine's memory.
	if len(os.Args) == 3 && os.Args[1] == "--max-memory" {
		limit, err := strconv.ParseUint(os.Args[2], 10, 64)
		if err == nil {
			err = syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit})
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "tenantry-build: --max-memory %s: %v\n", os.Args[2], err)
			os.Exit(2)
		}
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 64*1024*1024)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		var req request
		var res response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			res = response{Reason: "BadRequest", Error: fmt.Sprintf("unreadable request: %v", err)}
		} else {
			res = serve(req)
		}
		if err := enc.Encode(res); err != nil {
			os.Exit(2)
		}
		if err := out.Flush(); err != nil {
			os.Exit(2)
		}
	}
}

// serve answers one request; a panic in kustomize is a failed build, not a dead service.
func serve(req request) (res response) {
	res.ID = req.ID
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("kustomize build %s failed: %v", req.Dir, r)
			if req.AgeIdentities != "" {
				// The panic's value may hold anything the build read, decrypted files included.
				msg = fmt.Sprintf("kustomize build %s failed (a panic; its message is withheld, as this build could decrypt SOPS files)", req.Dir)
			}
			res = response{ID: req.ID, Reason: "BuildFailed", Error: msg}
		}
	}()
	if req.Op != "" && req.Op != "build" {
		return serveOp(req)
	}
	text, err := build(req)
	var r *refusal
	switch {
	case err == nil && req.Format == "json":
		res.Objects, res.Bytes = json.RawMessage(text), len(text)
	case err == nil:
		res.YAML = text
	case errors.As(err, &r):
		res.Reason, res.Error, res.Problems = r.reason, r.message, r.problems
	default:
		res.Reason, res.Error = "BuildFailed", err.Error()
	}
	return res
}

func build(req request) (string, error) {
	if !filepath.IsAbs(req.Root) {
		return "", refuse("BadRequest", "root %q is not an absolute path", req.Root)
	}
	root, err := filepath.EvalSymlinks(req.Root)
	if err != nil {
		return "", refuse("BuildFailed", "the checkout %s cannot be read: %v", req.Root, err)
	}
	dir := filepath.Clean(req.Dir)
	if filepath.IsAbs(dir) || dir == ".." || strings.HasPrefix(dir, "../") {
		return "", refuse("BadRequest", "dir %q is not inside the checkout", req.Dir)
	}
	if req.MaxCheckoutBytes > 0 {
		if err := checkSize(root, req.MaxCheckoutBytes); err != nil {
			return "", err
		}
	}
	w := walker{root: root, src: disk{}}
	var mem filesys.FileSystem
	if len(req.Files) > 0 {
		if mem, err = memoryFiles(root, req.Files); err != nil {
			return "", err
		}
		w.src = memory{fs: mem}
	}
	w.visit(dir, nil)
	if err := w.verdict(); err != nil {
		return "", err
	}

	onDisk, err := securefs.MakeFsOnDiskSecure(root)
	if err != nil {
		return "", refuse("BuildFailed", "cannot confine the build to %s: %v", root, err)
	}
	var fsys filesys.FileSystem = onDisk
	switch {
	case mem != nil:
		fsys = layered{mem: mem, disk: onDisk}
	case req.Origin:
		// The kustomization as kustomize reads it, plus buildMetadata, in memory only.
		fsys = securefs.MakeFsInMemory(onDisk)
	}
	ids, err := parseIdentities(req.AgeIdentities)
	if err != nil {
		return "", err
	}
	if req.SopsPassthrough && len(ids) > 0 {
		return "", refuse("BadRequest", "sopsPassthrough reads SOPS files without decrypting: it takes no ageIdentities")
	}
	dec := &decrypter{root: root, ids: ids, kustomizations: map[string]bool{}, decryptable: w.decryptable, passthrough: req.SopsPassthrough}
	for _, f := range w.files {
		if f != "" {
			dec.kustomizations[f] = true
		}
	}
	fsys = decrypting{FileSystem: fsys, d: dec}
	target := filepath.Join(root, dir)
	if req.Origin {
		if err := withOriginAnnotations(w.src, fsys, target, w.files[dir]); err != nil {
			return "", err
		}
	}
	resources, err := buildConfined(fsys, target, w.openAPI)
	if dec.failed != nil {
		// Even when kustomize went on without the file (it tries the next kustomization name
		// when one cannot be read): what it built is not what the repo says.
		return "", dec.failed
	}
	if err != nil {
		return "", dec.withheld(req.Dir, refuse("BuildFailed", "kustomize build %s failed: %s", req.Dir, strings.ReplaceAll(err.Error(), root+string(filepath.Separator), "")))
	}
	if err := dec.confined(resources.Resources()); err != nil {
		return "", err
	}
	if req.RefusePlainSecrets {
		if err := dec.plainSecrets(resources.Resources()); err != nil {
			return "", err
		}
	}
	var text []byte
	if req.Format == "json" {
		text, err = objectsJSON(resources.Resources(), req.MaxRenderBytes)
	} else {
		text, err = resources.AsYaml()
	}
	if err != nil {
		var r *refusal
		if errors.As(err, &r) {
			return "", err
		}
		return "", dec.withheld(req.Dir, refuse("BuildFailed", "kustomize build %s failed: %v", req.Dir, err))
	}
	if req.MaxRenderBytes > 0 && int64(len(text)) > req.MaxRenderBytes {
		return "", refuse("RenderTooLarge", "the render of %s is %d bytes, more than the limit of %d", req.Dir, len(text), req.MaxRenderBytes)
	}
	return string(text), nil
}

// schemaClean: kustomize's global OpenAPI schema is the builtin Kubernetes one (parsed or still
// to be parsed on first use), as after a reset.
var schemaClean bool

// builtinSchemaVersion: what kustomize says its schema is when no build has set one.
var builtinSchemaVersion = func() string {
	openapi.ResetOpenAPI()
	return openapi.GetSchemaVersion()
}()

// buildConfined is Flux's secure build (github.com/fluxcd/pkg/kustomize Build: builtin plugins
// only, no load restrictions inside the confined file system, a kustomize panic is a failed
// build) but for one thing. Flux resets kustomize's global OpenAPI schema and parses the builtin
// one again before every build, so that a kustomization's openapi field never reaches the next
// build; that parse is about 65 ms of an 85 ms team overlay build. Here the schema is reset
// only when it can matter: before a build whose kustomizations name a schema (or could not be
// read by the walk), parsed first as Flux does, after such a build, and after a panic. A build
// with no openapi field leaves the schema as it found it (krusty sets only what an openapi
// field names), so the next build reuses the parse; and kustomize parses the builtin schema
// only when a build needs it, so a build that never does skips it. Requests are served one at
// a time: no lock is needed.
func buildConfined(fsys filesys.FileSystem, target string, openAPI bool) (res resmap.ResMap, err error) {
	switch {
	case openAPI:
		// As Flux does: the builtin schema first, so that the kustomization's adds to it.
		openapi.ResetOpenAPI()
		_ = openapi.Schema()
	case !schemaClean:
		// The builtin schema, parsed when (and if) the build needs it.
		openapi.ResetOpenAPI()
		schemaClean = true
	}
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("recovered from kustomize build panic: %v", r)
			schemaClean = false
		}
		// Whatever the walk saw: a build that left a schema other than the builtin one (a
		// kustomization the walk could not foresee) never hands it to the next build.
		if openAPI || openapi.GetSchemaVersion() != builtinSchemaVersion {
			openapi.ResetOpenAPI()
			schemaClean = false
		}
	}()
	k := krusty.MakeKustomizer(&krusty.Options{LoadRestrictions: kustypes.LoadRestrictionsNone, PluginConfig: kustypes.DisabledPluginConfig()})
	return k.Run(fsys, target)
}

// checkSize refuses a checkout whose regular files (not .git) add up to more than max bytes.
func checkSize(root string, max int64) error {
	var total int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
			if total > max {
				return refuse("CheckoutTooLarge", "the checkout holds more than %d bytes (not counting .git): a repo this large is refused", max)
			}
		}
		return nil
	})
	return err
}

// withOriginAnnotations writes the kustomization of target, with originAnnotations added to
// its buildMetadata, into the in-memory layer of fsys.
func withOriginAnnotations(src source, fsys filesys.FileSystem, target, file string) error {
	if file == "" {
		return refuse("BuildFailed", "no kustomization in %s", target)
	}
	k, err := readKustomization(src, file)
	if err != nil {
		return refuse("BuildFailed", "%v", err)
	}
	for _, m := range k.BuildMetadata {
		if m == kustypes.OriginAnnotations {
			return nil
		}
	}
	k.BuildMetadata = append(k.BuildMetadata, kustypes.OriginAnnotations)
	text, err := yaml.Marshal(k)
	if err != nil {
		return refuse("BuildFailed", "%v", err)
	}
	return fsys.WriteFile(file, text)
}

func readKustomization(src source, file string) (*kustypes.Kustomization, error) {
	content, err := src.readFile(file)
	if err != nil {
		return nil, err
	}
	var k kustypes.Kustomization
	if err := k.Unmarshal(content); err != nil {
		return nil, err
	}
	k.FixKustomization()
	return &k, nil
}

func versions() string {
	want := map[string]string{"sigs.k8s.io/kustomize/api": "kustomize/api", "github.com/fluxcd/pkg/kustomize": "fluxcd/pkg/kustomize"}
	if decrypts {
		want["github.com/getsops/sops/v3"] = "sops"
	}
	found := []string{}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if name, ok := want[dep.Path]; ok {
				found = append(found, name+" "+dep.Version)
			}
		}
	}
	return strings.Join(found, " ")
}

// isRemote is kustomize's own verdict on an entry: a git repo spec its loader would clone
// (dirs: resources, components, generators, transformers, validators) or an http(s) file its
// loader would fetch (every field it loads).
func isRemote(entry string, asDir bool) bool {
	if isRemoteFile(entry) {
		return true
	}
	if !asDir {
		return false
	}
	_, err := kgit.NewRepoSpecFromURL(entry)
	return err == nil
}
