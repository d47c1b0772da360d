package k8s

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
)

// IsManifestFile reports whether a file name found while walking a
// directory is read as a manifest: a .yaml, .yml or .json name that is not
// hidden. Hidden names are skipped because editors and tools keep
// scratch files there, and because a ConfigMap volume holds its data
// twice: once under "..data/" and once through the top-level symlinks.
func IsManifestFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// ManifestFiles expands paths into the sorted list of manifest files they
// name. A path given explicitly is always read, whatever its name; a
// directory is walked recursively, following symbolic links (ConfigMap
// volumes are made of them) and skipping hidden names. Paths that cannot
// be read produce Error diagnostics.
func ManifestFiles(paths []string) ([]string, []diag.Diagnostic) {
	w := walker{seen: map[string]bool{}, visited: map[string]bool{}}
	for _, p := range paths {
		p = filepath.Clean(p)
		fi, err := os.Stat(p)
		if err != nil {
			w.fail(p, err)
			continue
		}
		if fi.IsDir() {
			w.dir(p)
			continue
		}
		w.file(p)
	}
	sort.Strings(w.files)
	return w.files, w.diags
}

type walker struct {
	files   []string
	seen    map[string]bool // absolute paths of the files listed
	visited map[string]bool // real paths of directories walked (symlink loops)
	diags   []diag.Diagnostic
}

// file lists p once, however many of the given paths reach it.
func (w *walker) file(p string) {
	key := p
	if abs, err := filepath.Abs(p); err == nil {
		key = abs
	}
	if !w.seen[key] {
		w.seen[key] = true
		w.files = append(w.files, p)
	}
}

func (w *walker) fail(p string, err error) {
	reason, msg := ReasonFileReadError, fmt.Sprintf("cannot read %s: %v", p, unwrapPath(err))
	if errors.Is(err, fs.ErrNotExist) {
		reason, msg = ReasonPathNotFound, fmt.Sprintf("%s does not exist", p)
	}
	w.diags = append(w.diags, diag.Diagnostic{
		Object:   diag.ObjectRef{Origin: diag.Origin{File: p}},
		Severity: diag.Error, Reason: reason, Message: msg,
	})
}

// unwrapPath drops the *fs.PathError wrapper, whose text repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (w *walker) dir(p string) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		w.fail(p, err)
		return
	}
	if w.visited[real] {
		return
	}
	w.visited[real] = true
	entries, err := os.ReadDir(p)
	if err != nil {
		w.fail(p, err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := filepath.Join(p, name)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			fi, err := os.Stat(full)
			if err != nil {
				if IsManifestFile(name) {
					w.fail(full, err) // a dangling link to a manifest
				}
				continue
			}
			mode = fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			w.dir(full)
		case mode.IsRegular() && IsManifestFile(name):
			w.file(full)
		}
	}
}

// DecodeFiles reads and decodes every manifest file that paths name (see
// ManifestFiles). When two manifests define the same object, the one read
// later in sorted file order wins, with a DuplicateObject warning.
func DecodeFiles(paths []string) ([]store.Object, []diag.Diagnostic) {
	files, diags := ManifestFiles(paths)
	var objs []store.Object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			diags = append(diags, ReadError(f, err))
			continue
		}
		o, d := Decode(data, f)
		objs = append(objs, o...)
		diags = append(diags, d...)
	}
	objs, dups := Dedupe(objs)
	return objs, append(diags, dups...)
}

// ReadError is the diagnostic for a manifest file that cannot be read.
func ReadError(file string, err error) diag.Diagnostic {
	return diag.Diagnostic{
		Object:   diag.ObjectRef{Origin: diag.Origin{File: file}},
		Severity: diag.Error, Reason: ReasonFileReadError,
		Message: fmt.Sprintf("cannot read %s: %v", file, unwrapPath(err)),
	}
}

// Dedupe keeps the last definition of each object and reports the
// others. The result keeps the input order of the survivors.
func Dedupe(objs []store.Object) ([]store.Object, []diag.Diagnostic) {
	last := make(map[store.Key]int, len(objs))
	for i, o := range objs {
		if k, ok := store.KeyOf(o.Obj); ok {
			last[k] = i
		}
	}
	if len(last) == len(objs) {
		return objs, nil
	}
	var diags []diag.Diagnostic
	out := make([]store.Object, 0, len(last))
	for i, o := range objs {
		k, ok := store.KeyOf(o.Obj)
		if !ok {
			continue
		}
		if j := last[k]; j != i {
			diags = append(diags, DuplicateObject(k, o.Origin, objs[j].Origin))
			continue
		}
		out = append(out, o)
	}
	return out, diags
}

// DuplicateObject is the warning for a definition of k at loser that the
// one at winner overrides.
func DuplicateObject(k store.Key, loser, winner diag.Origin) diag.Diagnostic {
	return diag.Diagnostic{
		Object:   diag.ObjectRef{Kind: k.Kind, Namespace: k.Namespace, Name: k.Name, Origin: winner},
		Severity: diag.Warning,
		Reason:   ReasonDuplicateObject,
		Message: fmt.Sprintf("%s %s is defined in both %s and %s; the definition in %s is used",
			k.Kind, keyName(k), loser, winner, winner),
	}
}

func keyName(k store.Key) string {
	if k.Namespace == "" {
		return k.Name
	}
	return k.Namespace + "/" + k.Name
}
