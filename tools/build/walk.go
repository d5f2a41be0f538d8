// The walk before a build: every kustomization the build reads, every entry kustomize loads.

package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	kustypes "sigs.k8s.io/kustomize/api/types"
)

// isRemoteFile is the rule of kustomize's loader (internal/loader.IsRemoteFile, unexported to
// us): a path with an http or https scheme is fetched over the network.
func isRemoteFile(path string) bool {
	u, err := url.Parse(path)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

type walker struct {
	root string
	// src: where the walk reads (disk, or the request's files over it: overlay.go).
	src source
	// files: the kustomization file of each visited directory (root-relative dir -> absolute file).
	files map[string]string
	// decryptable: the files a SOPS identity may decrypt (absolute, as joined and as resolved) and
	// the field that names them ("resources", or secretGenerator's): what Flux decrypts.
	decryptable map[string]string
	// problems by reason, in the order found.
	remote, outside, other []problem
	cycle                  string
	// openAPI: some kustomization of the build has an openapi field (or could not be read, so
	// may have one): the build changes kustomize's global schema (buildConfined).
	openAPI bool
}

func (w *walker) rel(abs string) string {
	r, err := filepath.Rel(w.root, abs)
	if err != nil {
		return abs
	}
	return filepath.ToSlash(r)
}

// inside resolves path (symlinks followed) and says whether it stays in the checkout.
func (w *walker) inside(path string) (string, bool, error) {
	return w.src.resolve(w, path)
}

// insideDisk is inside on disk. A symlink whose target does not exist here is judged by where
// it points: a link to a file that only exists elsewhere (a Pod's token, say) is still a way out.
func (w *walker) insideDisk(path string) (string, bool, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		target, linkErr := os.Readlink(path)
		if linkErr != nil {
			return "", false, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		real = filepath.Clean(target)
		if w.contains(real) {
			return "", false, err
		}
		return real, false, nil
	}
	return real, w.contains(real), nil
}

func (w *walker) contains(path string) bool {
	return path == w.root || strings.HasPrefix(path, w.root+string(filepath.Separator))
}

// kustomizationFile: the kustomization of dir, or "" for none; every name present, when more
// than one is (kustomize refuses that too, but only when it can read them all: a file it fails
// to read, say one the build refuses to decrypt, would leave it building the other).
func (w *walker) kustomizationFile(dir string) (string, []string) {
	var found []string
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(w.root, dir, name)
		if w.src.exists(p) {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], found
}

// visit walks the kustomization in dir (root-relative); stack holds the directories that led here.
func (w *walker) visit(dir string, stack []string) {
	if w.files == nil {
		w.files = map[string]string{}
	}
	for i, d := range stack {
		if d == dir {
			if w.cycle == "" {
				w.cycle = fmt.Sprintf("kustomizations form a cycle: %s -> %s", strings.Join(stack[i:], " -> "), dir)
			}
			return
		}
	}
	if _, seen := w.files[dir]; seen {
		return
	}
	file, all := w.kustomizationFile(dir)
	w.files[dir] = file
	if file == "" {
		return // a resource directory without a kustomization: kustomize says what is wrong
	}
	name := w.rel(file)
	if len(all) > 1 {
		names := make([]string, len(all))
		for i, f := range all {
			names[i] = filepath.Base(f)
		}
		w.other = append(w.other, problem{name, fmt.Sprintf("its directory holds more than one kustomization file (%s): keep one", strings.Join(names, ", "))})
		return
	}
	real, in, err := w.inside(file)
	if err != nil {
		w.other = append(w.other, problem{name, err.Error()})
		return
	}
	if !in {
		w.outside = append(w.outside, problem{name, "it is a symlink that leads outside the checkout"})
		return
	}
	if _, regular, err := w.src.kind(real); err != nil || !regular {
		w.other = append(w.other, problem{name, "it is not a regular file"})
		return
	}
	k, err := readKustomization(w.src, real)
	if err != nil {
		w.openAPI = true // unread: it may name a schema
		return           // malformed: kustomize reports it with its own words
	}
	if len(k.OpenAPI) > 0 {
		w.openAPI = true
	}
	w.files[dir] = real
	// kustomize loads entries relative to the kustomization's directory (symlinks in it
	// resolved), not to where a symlinked kustomization file points: so does the walk.
	base, in, err := w.inside(filepath.Join(w.root, dir))
	if errors.Is(err, errShadowed) {
		w.other = append(w.other, problem{name, "its directory: " + err.Error()})
		return
	}
	if err != nil || !in {
		w.outside = append(w.outside, problem{name, "its directory leads outside the checkout"})
		return
	}
	next := append(append([]string{}, stack...), dir)
	for _, e := range entries(k) {
		if isRemote(e.value, e.dir) {
			w.remote = append(w.remote, problem{name, fmt.Sprintf("%s entry %q is a remote base: vendor it into the repository instead", e.field, e.value)})
			continue
		}
		if e.helm {
			w.other = append(w.other, problem{name, fmt.Sprintf("%s: Helm charts are not rendered by tenantry: render the chart into the repository", e.field)})
			continue
		}
		if e.value == "" || filepath.IsAbs(e.value) {
			continue // kustomize refuses absolute paths itself
		}
		path := filepath.Join(base, e.value)
		resolved, in, err := w.inside(path)
		if errors.Is(err, errShadowed) {
			w.other = append(w.other, problem{name, fmt.Sprintf("%s entry %q: %v", e.field, e.value, err)})
			continue
		}
		if err != nil {
			continue // missing: kustomize says so (a patch may be inline text, not a path)
		}
		if !in {
			w.outside = append(w.outside, problem{name, fmt.Sprintf("%s entry %q leads outside the checkout", e.field, e.value)})
			continue
		}
		isDir, regular, err := w.src.kind(resolved)
		if err != nil {
			continue
		}
		if !isDir && regular && (e.field == "resources" || strings.HasPrefix(e.field, "secretGenerator.")) {
			if w.decryptable == nil {
				w.decryptable = map[string]string{}
			}
			field := e.field
			if field != "resources" {
				field = "secretGenerator"
			}
			// A file listed both ways is read as a resource: the stricter rule.
			if w.decryptable[filepath.Clean(path)] != "resources" {
				w.decryptable[filepath.Clean(path)] = field
				w.decryptable[resolved] = field
			}
		}
		switch {
		case isDir && e.dir:
			w.visit(w.rel(resolved), next)
		case isDir:
			w.other = append(w.other, problem{name, fmt.Sprintf("%s entry %q is a directory, not a file", e.field, e.value)})
		case !regular:
			w.other = append(w.other, problem{name, fmt.Sprintf("%s entry %q is not a regular file", e.field, e.value)})
		}
	}
}

// problem: what is wrong with a file the build reads (root-relative).
type problem struct {
	File    string `json:"file"`
	Message string `json:"message"`
}

// verdict: the first class of problem found refuses the build, every problem of it named.
func (w *walker) verdict() error {
	switch {
	case len(w.remote) > 0:
		return refused("RemoteBaseRefused", w.remote)
	case len(w.outside) > 0:
		return refused("OutsideCheckout", w.outside)
	case w.cycle != "":
		return refuse("BuildFailed", "%s", w.cycle)
	case len(w.other) > 0:
		return refused("BuildFailed", w.other)
	}
	return nil
}

func refused(reason string, problems []problem) *refusal {
	ps := append([]problem{}, problems...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].File+"\x00"+ps[i].Message < ps[j].File+"\x00"+ps[j].Message })
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.File + ": " + p.Message
	}
	return &refusal{reason: reason, message: strings.Join(lines, "; "), problems: ps}
}

// entry: one string kustomize loads, from a field.
type entry struct {
	field string
	value string
	// dir: the loader may take it as a directory or git repo (New), not only a file (Load).
	dir bool
	// helm: a Helm chart (never rendered).
	helm bool
}

// entries lists what kustomize's loader loads from k, field by field (api/internal/target).
func entries(k *kustypes.Kustomization) []entry {
	var out []entry
	add := func(field string, dir bool, values ...string) {
		for _, v := range values {
			out = append(out, entry{field: field, value: v, dir: dir})
		}
	}
	// FixKustomization folded the legacy `bases` into resources.
	add("resources", true, k.Resources...)
	add("components", true, k.Components...)
	add("generators", true, k.Generators...)
	add("transformers", true, k.Transformers...)
	add("validators", true, k.Validators...)
	add("crds", false, k.Crds...)
	add("configurations", false, k.Configurations...)
	if p, ok := k.OpenAPI["path"]; ok {
		add("openapi.path", false, p)
	}
	for _, p := range k.PatchesStrategicMerge {
		if !strings.Contains(string(p), "\n") {
			add("patchesStrategicMerge", false, string(p))
		}
	}
	for _, p := range k.Patches {
		add("patches.path", false, p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902.path", false, p.Path)
	}
	for _, r := range k.Replacements {
		add("replacements.path", false, r.Path)
	}
	kv := func(field string, s kustypes.KvPairSources) {
		for _, f := range s.FileSources {
			// [key=]path, as kustomize's generators parse it.
			if i := strings.Index(f, "="); i >= 0 {
				f = f[i+1:]
			}
			add(field+".files", false, f)
		}
		add(field+".envs", false, s.EnvSources...)
		if s.EnvSource != "" {
			add(field+".env", false, s.EnvSource)
		}
	}
	for _, g := range k.ConfigMapGenerator {
		kv("configMapGenerator", g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		kv("secretGenerator", g.KvPairSources)
	}
	if k.HelmGlobals != nil || len(k.HelmCharts) > 0 {
		out = append(out, entry{field: "helmCharts", helm: true})
	}
	if len(k.HelmChartInflationGenerator) > 0 {
		out = append(out, entry{field: "helmChartInflationGenerator", helm: true})
	}
	return out
}
