// A build of files handed over in the request (request field files): tenantry's own render of a
// team overlay, which create-team --from builds while it plans, before anything is written. The
// files are laid over the checkout in memory: a path the request holds is read from memory, any
// other from the checkout on disk, as confined as ever (the walk resolves each disk path's
// symlinks; the build's disk layer is Flux's secure file system). Nothing is written to disk.

package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// source is what the walk reads: the checkout on disk, or files in memory over it.
type source interface {
	// resolve: path with its symlinks followed, and whether that stays inside root (walker.inside).
	resolve(w *walker, path string) (string, bool, error)
	// isFile: something (not following a last symlink) is at path.
	exists(path string) bool
	// kind: whether path (symlinks followed) is a directory, a regular file; an error when absent.
	kind(path string) (dir bool, regular bool, err error)
	readFile(path string) ([]byte, error)
}

type disk struct{}

func (disk) resolve(w *walker, path string) (string, bool, error) { return w.insideDisk(path) }
func (disk) exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
func (disk) kind(path string) (bool, bool, error) {
	info, err := os.Stat(path)
	if err != nil {
		return false, false, err
	}
	return info.IsDir(), info.Mode().IsRegular(), nil
}
func (disk) readFile(path string) ([]byte, error) { return os.ReadFile(path) }

// memory: the request's files (absolute paths under root) over the disk.
type memory struct {
	fs filesys.FileSystem
}

// errShadowed: a disk path whose symlinks lead to a path the request holds. kustomize would read
// the disk's bytes there and the walk the request's, so the build is refused.
var errShadowed = errors.New("it is a symlink to a file or directory the build takes from the request, not the disk: the build is refused")

func (m memory) resolve(w *walker, path string) (string, bool, error) {
	if m.fs.Exists(path) {
		return path, w.contains(path), nil
	}
	real, in, err := w.insideDisk(path)
	if err == nil && real != path && m.fs.Exists(real) {
		return "", false, errShadowed
	}
	return real, in, err
}
func (m memory) exists(path string) bool { return m.fs.Exists(path) || disk{}.exists(path) }
func (m memory) kind(path string) (bool, bool, error) {
	if m.fs.Exists(path) {
		dir := m.fs.IsDir(path)
		return dir, !dir, nil
	}
	return disk{}.kind(path)
}
func (m memory) readFile(path string) ([]byte, error) {
	if m.fs.Exists(path) && !m.fs.IsDir(path) {
		return m.fs.ReadFile(path)
	}
	return os.ReadFile(path)
}

// memoryFiles lays the request's files (root-relative) into a file system in memory, under root.
func memoryFiles(root string, files map[string]string) (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	seen := map[string]string{}
	for rel, content := range files {
		clean := filepath.Clean(rel)
		if !filepath.IsLocal(rel) || clean == "." {
			return nil, refuse("BadRequest", "file %q is not inside the checkout", rel)
		}
		if other, ok := seen[clean]; ok {
			return nil, refuse("BadRequest", "files %q and %q are the same path", other, rel)
		}
		seen[clean] = rel
		if err := mem.WriteFile(filepath.Join(root, clean), []byte(content)); err != nil {
			return nil, refuse("BadRequest", "file %q: %v", rel, err)
		}
	}
	return mem, nil
}

// layered is the build's file system for a request with files: memory first, then the disk
// (Flux's secure one). Writes (the origin annotations' kustomization) go to memory.
type layered struct {
	mem  filesys.FileSystem
	disk filesys.FileSystem
}

func (l layered) Create(path string) (filesys.File, error) { return l.mem.Create(path) }
func (l layered) Mkdir(path string) error                  { return l.mem.Mkdir(path) }
func (l layered) MkdirAll(path string) error               { return l.mem.MkdirAll(path) }
func (l layered) RemoveAll(path string) error              { return l.mem.RemoveAll(path) }
func (l layered) WriteFile(path string, data []byte) error { return l.mem.WriteFile(path, data) }
func (l layered) Exists(path string) bool                  { return l.mem.Exists(path) || l.disk.Exists(path) }
func (l layered) IsDir(path string) bool                   { return l.mem.IsDir(path) || l.disk.IsDir(path) }
func (l layered) Glob(pattern string) ([]string, error) {
	return union(l.mem.Glob(pattern))(l.disk.Glob(pattern))
}
func (l layered) ReadDir(path string) ([]string, error) {
	return union(l.mem.ReadDir(path))(l.disk.ReadDir(path))
}

func (l layered) Open(path string) (filesys.File, error) {
	if l.mem.Exists(path) {
		return l.mem.Open(path)
	}
	return l.disk.Open(path)
}

func (l layered) ReadFile(path string) ([]byte, error) {
	if l.mem.Exists(path) {
		return l.mem.ReadFile(path)
	}
	return l.disk.ReadFile(path)
}

// CleanedAbs: a directory that is only in memory (a team not yet written) is memory's.
func (l layered) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	if l.mem.Exists(path) {
		return l.mem.CleanedAbs(path)
	}
	return l.disk.CleanedAbs(path)
}

func (l layered) Walk(path string, walkFn filepath.WalkFunc) error {
	seen := map[string]bool{}
	if l.mem.Exists(path) {
		if err := l.mem.Walk(path, func(p string, info fs.FileInfo, err error) error {
			seen[p] = true
			return walkFn(p, info, err)
		}); err != nil {
			return err
		}
	}
	if !l.disk.Exists(path) {
		return nil
	}
	return l.disk.Walk(path, func(p string, info fs.FileInfo, err error) error {
		if seen[p] {
			return nil
		}
		return walkFn(p, info, err)
	})
}

// union: both listings, each name once, sorted; an error only when both fail.
func union(a []string, aErr error) func([]string, error) ([]string, error) {
	return func(b []string, bErr error) ([]string, error) {
		if aErr != nil && bErr != nil {
			return nil, errors.Join(aErr, bErr)
		}
		set := map[string]bool{}
		for _, s := range append(append([]string{}, a...), b...) {
			set[s] = true
		}
		out := make([]string, 0, len(set))
		for s := range set {
			out = append(out, s)
		}
		sort.Strings(out)
		return out, nil
	}
}
