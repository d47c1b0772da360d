package file

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// incremental drives reloads by hand (no watcher, no timing) and records
// which files each reload decoded and what it handed the store.
type incremental struct {
	t       *testing.T
	st      *store.Store
	src     *Source
	decoded []string
	age     int
}

// settled writes content with a modification time in the past, distinct
// per call, so that the file is not "racy" (just modified, see fileEntry)
// and its stat alone tells whether it changed.
func (h *incremental) settled(path, content string) {
	h.t.Helper()
	write(h.t, path, content)
	h.age++
	mt := time.Now().Add(-time.Hour).Add(time.Duration(h.age) * time.Second)
	must(h.t, os.Chtimes(path, mt, mt))
}

func newIncremental(t *testing.T, files map[string]string, paths ...string) *incremental {
	h := &incremental{t: t, st: store.New()}
	for p, c := range files {
		h.settled(p, c)
	}
	h.src = New(paths, h.st, nil)
	h.src.onDecode = func(p string) { h.decoded = append(h.decoded, filepath.Base(p)) }
	h.src.Load()
	if _, c := h.st.SnapshotChanges(); !c.All {
		t.Fatalf("the first load is not a full replace: %+v", c)
	}
	h.decoded = nil
	return h
}

// reload runs one reload and returns the files it decoded and the keys it
// changed ("Kind/name", sorted), and the snapshot after it.
func (h *incremental) reload() (decoded, changed string, sn *store.Snapshot) {
	h.t.Helper()
	h.decoded = nil
	h.src.reload("test")
	sn, c := h.st.SnapshotChanges()
	if c.All {
		h.t.Fatalf("a reload replaced the whole store")
	}
	var keys []string
	for k := range c.Keys {
		keys = append(keys, k.Kind+"/"+k.Name)
	}
	sort.Strings(keys)
	sort.Strings(h.decoded)
	return strings.Join(h.decoded, " "), strings.Join(keys, " "), sn
}

func (h *incremental) expect(wantDecoded, wantChanged, wantServices string) *store.Snapshot {
	h.t.Helper()
	decoded, changed, sn := h.reload()
	if decoded != wantDecoded {
		h.t.Errorf("decoded %q, want %q", decoded, wantDecoded)
	}
	if changed != wantChanged {
		h.t.Errorf("changed %q, want %q", changed, wantChanged)
	}
	if got := services(sn); got != wantServices {
		h.t.Errorf("services %q, want %q", got, wantServices)
	}
	return sn
}

// TestIncrementalDiff: each kind of file change decodes only that file and
// hands the store exactly the objects that changed.
func TestIncrementalDiff(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	h := newIncremental(t, map[string]string{a: service("a1", 80) + "---\n" + service("a2", 81), b: service("b1", 90)}, dir)

	// Nothing changed: nothing decoded, nothing handed over.
	h.expect("", "", "a1:80 a2:81 b1:90")

	// Modify one object of a.yaml (same length, so only the mtime
	// tells): a2, equal to its last decode, is not handed over again.
	h.settled(a, service("a1", 88)+"---\n"+service("a2", 81))
	h.expect("a.yaml", "Service/a1", "a1:88 a2:81 b1:90")

	// Add a file.
	h.settled(filepath.Join(dir, "c.yaml"), service("c1", 70))
	h.expect("c.yaml", "Service/c1", "a1:88 a2:81 b1:90 c1:70")

	// Delete one.
	must(t, os.Remove(b))
	h.expect("", "Service/b1", "a1:88 a2:81 c1:70")

	// Rename a file into place over another (as editors and kubectl
	// cp do): c1 is gone, a1 and a2 now come from c.yaml.
	must(t, os.Rename(a, filepath.Join(dir, "c.yaml")))
	sn := h.expect("c.yaml", "Service/a1 Service/a2 Service/c1", "a1:88 a2:81")
	if o := sn.Origin(store.KindService, "default", "a1"); filepath.Base(o.File) != "c.yaml" {
		t.Errorf("origin of a1 after the rename: %v", o)
	}

	// A new file written beside and renamed over the old one with the
	// same content: decoded (new inode), but nothing changed.
	tmp := filepath.Join(dir, ".c.yaml.tmp")
	h.settled(tmp, service("a1", 88)+"---\n"+service("a2", 81))
	must(t, os.Rename(tmp, filepath.Join(dir, "c.yaml")))
	h.expect("c.yaml", "", "a1:88 a2:81")
}

// TestBadFileKeepsLastGood: a file that stops parsing keeps its last good
// objects, with diagnostics naming it, until it is fixed.
func TestBadFileKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	h := newIncremental(t, map[string]string{a: service("a1", 80), b: service("b1", 90)}, dir)

	h.settled(a, "apiVersion: v1\nkind: Service\nmetadata: [\n")
	sn := h.expect("a.yaml", "", "a1:80 b1:90")
	if !hasDiag(sn.Diagnostics, k8s.ReasonParseError, a+":") {
		t.Errorf("no parse error naming %s: %v", a, sn.Diagnostics)
	}
	if !hasDiag(sn.Diagnostics, ReasonLastGoodKept, a) {
		t.Errorf("no %s diagnostic naming %s: %v", ReasonLastGoodKept, a, sn.Diagnostics)
	}

	// Still bad, differently: still the last good content.
	h.settled(a, service("a1", 81)+"---\nkind: [\n")
	h.expect("a.yaml", "", "a1:80 b1:90")

	// An unreadable file keeps it too.
	h.src.readFile = func(p string) ([]byte, error) {
		if p == a {
			return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrPermission}
		}
		return os.ReadFile(p)
	}
	h.settled(a, service("a1", 83))
	sn = h.expect("a.yaml", "", "a1:80 b1:90")
	if !hasDiag(sn.Diagnostics, k8s.ReasonFileReadError, a) || !hasDiag(sn.Diagnostics, ReasonLastGoodKept, a) {
		t.Errorf("unreadable file: diagnostics %v", sn.Diagnostics)
	}
	h.src.readFile = os.ReadFile

	// Fixed: the new content serves and the diagnostics go.
	h.settled(a, service("a1", 82))
	sn = h.expect("a.yaml", "Service/a1", "a1:82 b1:90")
	if hasDiag(sn.Diagnostics, ReasonLastGoodKept, "") || hasDiag(sn.Diagnostics, k8s.ReasonParseError, "") {
		t.Errorf("diagnostics left after the fix: %v", sn.Diagnostics)
	}

	// A file that was never good has nothing to keep: its good documents
	// serve, as on a first load.
	c := filepath.Join(dir, "c.yaml")
	h.settled(c, service("c1", 70)+"---\nkind: [\n")
	sn = h.expect("c.yaml", "Service/c1", "a1:82 b1:90 c1:70")
	if hasDiag(sn.Diagnostics, ReasonLastGoodKept, c) || !hasDiag(sn.Diagnostics, k8s.ReasonParseError, c) {
		t.Errorf("diagnostics for a new bad file: %v", sn.Diagnostics)
	}

	// Deleting a bad file removes its objects: deletion is deliberate.
	h.settled(a, "kind: [\n")
	h.expect("a.yaml", "", "a1:82 b1:90 c1:70")
	must(t, os.Remove(a))
	h.expect("", "Service/a1", "b1:90 c1:70")
}

// TestRacyFileReadAgain: a file modified just before it was read is read
// again on the next reload even if its stat is unchanged, since a second
// write within the timestamp granularity would not show in it.
func TestRacyFileReadAgain(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	h := newIncremental(t, nil, dir)
	mt := time.Date(2026, 1, 2, 3, 4, 5, 6007, time.UTC) // nanosecond timestamps
	write(t, a, service("a1", 80))
	must(t, os.Chtimes(a, mt, mt))
	now := mt.Add(10 * time.Millisecond)
	h.src.now = func() time.Time { return now }
	h.expect("a.yaml", "Service/a1", "a1:80")
	h.expect("a.yaml", "", "a1:80") // read 10 ms after the write: racy
	now = mt.Add(time.Second)
	h.expect("a.yaml", "", "a1:80") // no longer racy once read a second later
	h.expect("", "", "a1:80")

	// Whole-second timestamps: racy for two seconds.
	mt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, os.Chtimes(a, mt, mt))
	now = mt.Add(time.Second)
	h.expect("a.yaml", "", "a1:80")
	h.expect("a.yaml", "", "a1:80")
	now = mt.Add(3 * time.Second)
	h.expect("a.yaml", "", "a1:80")
	h.expect("", "", "a1:80")
}

// TestIncrementalDuplicates: an object defined in two files comes from the
// later one in file order, with a warning, however the files change.
func TestIncrementalDuplicates(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	h := newIncremental(t, map[string]string{a: service("x", 1), b: service("x", 2)}, dir)
	sn := h.expect("", "", "x:2")
	if !hasDiag(sn.Diagnostics, k8s.ReasonDuplicateObject, b) {
		t.Errorf("no duplicate warning: %v", sn.Diagnostics)
	}
	h.settled(a, service("x", 3))
	h.expect("a.yaml", "", "x:2")
	must(t, os.Remove(b))
	sn = h.expect("", "Service/x", "x:3")
	if hasDiag(sn.Diagnostics, k8s.ReasonDuplicateObject, "") {
		t.Errorf("duplicate warning left: %v", sn.Diagnostics)
	}
	h.settled(b, service("x", 4)+"---\n"+service("x", 5))
	sn = h.expect("b.yaml", "Service/x", "x:5")
	if n := strings.Count(renderDiagReasons(sn), k8s.ReasonDuplicateObject); n != 2 {
		t.Errorf("%d duplicate warnings, want 2 (a.yaml's and b.yaml's first): %v", n, sn.Diagnostics)
	}
}

func renderDiagReasons(sn *store.Snapshot) string {
	var b strings.Builder
	for _, d := range sn.Diagnostics {
		b.WriteString(d.Reason + " ")
	}
	return b.String()
}

// TestIncrementalMatchesFullRead: after every random edit (rewrite, add,
// delete, rename, break, duplicate definitions across files), the store
// holds what a full read of the files gives, except for broken files that
// keep their last good objects.
func TestIncrementalMatchesFullRead(t *testing.T) {
	dir := t.TempDir()
	h := newIncremental(t, nil, dir)
	rng := rand.New(rand.NewPCG(5, 6))
	names := []string{"a.yaml", "b.yaml", "c.yaml", "sub/d.yaml", "sub/e.yaml"}
	const broken = "kind: [\n"
	content := func() string {
		var docs []string
		for range rng.IntN(4) {
			docs = append(docs, service(fmt.Sprint("s", rng.IntN(8)), 80+rng.IntN(3)))
		}
		return strings.Join(docs, "---\n")
	}
	for step := range 200 {
		name := filepath.Join(dir, names[rng.IntN(len(names))])
		bad := false
		switch rng.IntN(6) {
		case 0:
			_ = os.Remove(name)
		case 1:
			to := filepath.Join(dir, names[rng.IntN(len(names))])
			// A broken file renamed over a good one would keep
			// the good one's objects (TestBadFileKeepsLastGood),
			// which a full read does not: rename good files only.
			if b, err := os.ReadFile(name); err == nil && to != name && string(b) != broken {
				must(t, os.Rename(name, to))
			}
		case 2:
			// Break only files that are not read yet or have no
			// objects: those have no last good content to keep, so
			// the full read is the oracle.
			if _, err := os.Stat(name); err != nil {
				h.settled(name, broken)
				bad = true
			}
		default:
			h.settled(name, content())
		}
		h.src.reload("test")
		sn, _ := h.st.SnapshotChanges()
		objs, diags := k8s.DecodeFiles([]string{dir})
		want := store.FromObjects(objs, diags)
		if got, w := services(sn), services(want); got != w {
			t.Fatalf("step %d: services %q, a full read gives %q", step, got, w)
		}
		for k, svc := range want.Services {
			ns, name, _ := strings.Cut(k, "/")
			if g, w := sn.Origin(store.KindService, ns, name), want.Origin(store.KindService, ns, name); g != w {
				t.Fatalf("step %d: origin of %s %v, a full read gives %v (%v)", step, k, g, w, svc.Name)
			}
		}
		if g, w := renderDiagSet(sn.Diagnostics), renderDiagSet(want.Diagnostics); g != w {
			t.Fatalf("step %d (bad %v): diagnostics\n%s\na full read gives\n%s", step, bad, g, w)
		}
	}
}

// renderDiagSet renders diagnostics sorted, one a line.
func renderDiagSet(ds []diag.Diagnostic) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.String())
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
