package file

import (
	"context"
	"fmt"
	"log/slog"
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

// waitFor bounds every wait for the watcher; it is a ceiling for slow
// machines, not a measure of speed.
const waitFor = 5 * time.Second

func service(name string, port int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  ports:\n  - port: %d\n", name, port)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type harness struct {
	t       *testing.T
	st      *store.Store
	src     *Source
	reloads chan bool
}

func newHarness(t *testing.T, paths ...string) *harness {
	t.Helper()
	h := &harness{t: t, st: store.New(), reloads: make(chan bool, 100)}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.src = New(paths, h.st, log, WithDebounce(10*time.Millisecond, 50*time.Millisecond), WithSettle(100*time.Millisecond))
	h.src.afterReload = func(changed bool) {
		select {
		case h.reloads <- changed:
		default:
		}
	}
	return h
}

// run loads, starts watching, and waits for the watch to be in place.
func (h *harness) run() {
	h.t.Helper()
	h.src.Load()
	<-h.reloads
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.src.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(waitFor):
			h.t.Error("Run did not return after cancel")
		}
	})
	select {
	case <-h.reloads: // Run's first read, after its watches are set
	case <-time.After(waitFor):
		h.t.Fatal("Run did not start")
	}
}

// services renders the snapshot's Services as "name:port", sorted.
func services(sn *store.Snapshot) string {
	var out []string
	for _, s := range sn.Services {
		port := int32(0)
		if len(s.Spec.Ports) > 0 {
			port = s.Spec.Ports[0].Port
		}
		out = append(out, fmt.Sprintf("%s:%d", s.Name, port))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// eventually polls the store until its Services render as want.
func (h *harness) eventually(want string) *store.Snapshot {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		sn := h.st.Snapshot()
		if got := services(sn); got == want {
			return sn
		} else if time.Now().After(deadline) {
			h.t.Fatalf("services = %q, want %q; diagnostics:\n%v", got, want, sn.Diagnostics)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasDiag(ds []diag.Diagnostic, reason, in string) bool {
	for _, d := range ds {
		if d.Reason == reason && strings.Contains(d.String(), in) {
			return true
		}
	}
	return false
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), service("a", 80)+"---\n"+service("b", 81))
	write(t, filepath.Join(dir, "sub", "c.json"), `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}, "spec": {"ports": [{"port": 82}]}}`)
	bad := filepath.Join(dir, "bad.yaml")
	write(t, bad, "apiVersion: v1\nkind: Service\nmetadata: [\n")

	st := store.New()
	New([]string{dir}, st, nil).Load()
	sn := st.Snapshot()
	if got := services(sn); got != "a:80 b:81 c:82" {
		t.Errorf("services = %q", got)
	}
	if !hasDiag(sn.Diagnostics, k8s.ReasonParseError, bad+":") {
		t.Errorf("no parse error naming %s in %v", bad, sn.Diagnostics)
	}
	if o := sn.Origin(store.KindService, "default", "b"); o.File != filepath.Join(dir, "a.yaml") || o.Line != 9 {
		t.Errorf("origin of b = %v", o)
	}
}

func TestWatchDirectory(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "web.yaml")
	write(t, web, service("web", 80))
	h := newHarness(t, dir)
	h.run()
	h.eventually("web:80")

	t.Run("modify", func(t *testing.T) {
		write(t, web, service("web", 8080))
		h.eventually("web:8080")
	})
	t.Run("file in a new subdirectory", func(t *testing.T) {
		write(t, filepath.Join(dir, "new", "deeper", "api.yml"), service("api", 90))
		h.eventually("api:90 web:8080")
	})
	t.Run("file in the new subdirectory is watched too", func(t *testing.T) {
		write(t, filepath.Join(dir, "new", "deeper", "api.yml"), service("api", 91))
		h.eventually("api:91 web:8080")
	})
	t.Run("delete", func(t *testing.T) {
		must(t, os.Remove(filepath.Join(dir, "new", "deeper", "api.yml")))
		h.eventually("web:8080")
	})
	t.Run("rename-over save", func(t *testing.T) {
		// What editors and `kubectl cp`-style tools do: write a hidden
		// temporary file, then rename it over the original.
		tmp := filepath.Join(dir, ".web.yaml.swp")
		write(t, tmp, service("web", 9090))
		must(t, os.Rename(tmp, web))
		h.eventually("web:9090")
	})
	t.Run("subdirectory removed", func(t *testing.T) {
		write(t, filepath.Join(dir, "gone", "x.yaml"), service("x", 1))
		h.eventually("web:9090 x:1")
		must(t, os.RemoveAll(filepath.Join(dir, "gone")))
		h.eventually("web:9090")
	})
	t.Run("malformed file next to good ones", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		write(t, bad, "kind: Service\napiVersion: v1\nmetadata:\n  name: [oops\n")
		deadline := time.Now().Add(waitFor)
		for !hasDiag(h.st.Snapshot().Diagnostics, k8s.ReasonParseError, bad) {
			if time.Now().After(deadline) {
				t.Fatalf("no diagnostic naming %s: %v", bad, h.st.Snapshot().Diagnostics)
			}
			time.Sleep(5 * time.Millisecond)
		}
		h.eventually("web:9090")
	})
	t.Run("chmod alone does not bump the store version", func(t *testing.T) {
		h.settle()
		before := h.st.Snapshot().Version
		must(t, os.Chmod(web, 0o600))
		select {
		case changed := <-h.reloads:
			if changed {
				t.Error("reload after chmod reported a change")
			}
		case <-time.After(waitFor):
			t.Fatal("no reload after chmod")
		}
		if v := h.st.Snapshot().Version; v != before {
			t.Errorf("version %d → %d after a reload that read the same content", before, v)
		}
	})
}

// settle waits until no reload has happened for a while (many times the
// test debounce), so that later notifications are caused by what the test
// does next, not by the tail of an earlier burst.
func (h *harness) settle() {
	for {
		select {
		case <-h.reloads:
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}

func drain(c chan bool) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func TestWatchSingleFile(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "web.yaml")
	write(t, web, service("web", 80))
	// A sibling that is not one of the paths must not be read.
	write(t, filepath.Join(dir, "other.yaml"), service("other", 1))
	h := newHarness(t, web)
	h.run()
	h.eventually("web:80")

	// Atomic save: the watch on the original inode would be lost here.
	for i, port := range []int{81, 82, 83} {
		tmp := filepath.Join(dir, fmt.Sprintf("web.yaml.tmp%d", i))
		write(t, tmp, service("web", port))
		must(t, os.Rename(tmp, web))
		h.eventually(fmt.Sprintf("web:%d", port))
	}

	// A named file that disappears keeps serving its last good content,
	// reported, until it comes back (#11 item 6).
	must(t, os.Remove(web))
	sn := h.st.Snapshot()
	deadline := time.Now().Add(waitFor)
	for !hasDiag(sn.Diagnostics, k8s.ReasonPathNotFound, web) || !hasDiag(sn.Diagnostics, ReasonPathGone, web) {
		if time.Now().After(deadline) {
			t.Fatalf("no PathNotFound for %s: %v", web, sn.Diagnostics)
		}
		time.Sleep(5 * time.Millisecond)
		sn = h.st.Snapshot()
	}
	if got := services(sn); got != "web:83" {
		t.Fatalf("services after the file was deleted = %q, want the last good web:83", got)
	}
	write(t, web, service("web", 84))
	h.eventually("web:84")
}

func TestWatchDirectoryRecreated(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "manifests")
	write(t, filepath.Join(dir, "a.yaml"), service("a", 80))
	h := newHarness(t, dir)
	h.run()
	h.eventually("a:80")

	// Deleting the directory keeps the last good content, reported
	// naming the path, until it comes back (#11 item 6).
	must(t, os.RemoveAll(dir))
	deadline := time.Now().Add(waitFor)
	for sn := h.st.Snapshot(); !hasDiag(sn.Diagnostics, ReasonPathGone, dir); sn = h.st.Snapshot() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s for %s: %v", ReasonPathGone, dir, sn.Diagnostics)
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.eventually("a:80")
	write(t, filepath.Join(dir, "sub", "b.yaml"), service("b", 81))
	h.eventually("b:81")
	if sn := h.st.Snapshot(); hasDiag(sn.Diagnostics, ReasonPathGone, dir) {
		t.Errorf("%s still reported after the directory came back", ReasonPathGone)
	}
	// The re-created tree is watched, subdirectories included.
	write(t, filepath.Join(dir, "sub", "b.yaml"), service("b", 82))
	h.eventually("b:82")

	// Replaced by rename, as `git checkout` or a deploy script may do.
	next := filepath.Join(parent, "next")
	write(t, filepath.Join(next, "c.yaml"), service("c", 83))
	must(t, os.RemoveAll(dir))
	must(t, os.Rename(next, dir))
	h.eventually("c:83")
	write(t, filepath.Join(dir, "c.yaml"), service("c", 84))
	h.eventually("c:84")
}

func TestWatchPathMissingAtStart(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "not", "yet")
	h := newHarness(t, dir)
	h.run()
	if sn := h.st.Snapshot(); !hasDiag(sn.Diagnostics, k8s.ReasonPathNotFound, dir) {
		t.Errorf("no PathNotFound for %s: %v", dir, sn.Diagnostics)
	}
	write(t, filepath.Join(dir, "a.yaml"), service("a", 80))
	h.eventually("a:80")
}

// TestWatchConfigMapVolume mimics kubelet's atomic update of a ConfigMap
// volume: new data in a fresh hidden directory, then the "..data" symlink
// is swapped by rename. The visible file is a symlink that never changes.
func TestWatchConfigMapVolume(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "..v1", "web.yaml"), service("web", 80))
	must(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	must(t, os.Symlink(filepath.Join("..data", "web.yaml"), filepath.Join(dir, "web.yaml")))
	for _, path := range []string{dir, filepath.Join(dir, "web.yaml")} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			must(t, os.Remove(filepath.Join(dir, "..data")))
			must(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
			h := newHarness(t, path)
			h.run()
			h.eventually("web:80")

			write(t, filepath.Join(dir, "..v2", "web.yaml"), service("web", 81))
			must(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
			must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
			h.eventually("web:81")
			must(t, os.RemoveAll(filepath.Join(dir, "..v2")))
		})
	}
}

func TestWatchDebounces(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "web.yaml")
	write(t, web, service("web", 0))
	h := newHarness(t, dir)
	h.src.holdOff, h.src.maxDelay = 200*time.Millisecond, 2*time.Second
	h.run()
	drain(h.reloads)
	const writes = 20
	for i := 1; i <= writes; i++ {
		write(t, web, service("web", i))
	}
	h.eventually(fmt.Sprintf("web:%d", writes))
	if n := len(h.reloads); n >= writes {
		t.Errorf("%d reloads for a burst of %d writes; want them coalesced", n, writes)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	st := store.New()
	src := New([]string{t.TempDir()}, st, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Run did not return after cancel")
	}
}

func TestWithDebounce(t *testing.T) {
	s := New(nil, store.New(), nil, WithDebounce(time.Second, time.Millisecond))
	if s.holdOff != time.Second || s.maxDelay != time.Second {
		t.Errorf("holdOff, maxDelay = %v, %v; maxDelay must not undercut holdOff", s.holdOff, s.maxDelay)
	}
	s = New(nil, store.New(), nil)
	if s.holdOff != DefaultHoldOff || s.maxDelay != DefaultMaxDelay {
		t.Errorf("defaults = %v, %v", s.holdOff, s.maxDelay)
	}
	s.SetDebounce(time.Millisecond, 2*time.Millisecond)
	if s.holdOff != time.Millisecond || s.maxDelay != 2*time.Millisecond {
		t.Errorf("after SetDebounce: %v, %v", s.holdOff, s.maxDelay)
	}
}

// TestReread: a change that leaves size and modification time as they
// were is invisible to the watcher's stat; Reread (SIGHUP) reads every
// file again and picks it up.
func TestReread(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "web.yaml")
	write(t, web, service("web", 80))
	old := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(web, old, old))
	h := newHarness(t, dir)
	h.run()
	h.eventually("web:80")

	f, err := os.OpenFile(web, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte(service("web", 81)), 0)
	must(t, err)
	must(t, f.Close())
	must(t, os.Chtimes(web, old, old))
	h.settle()
	if got := services(h.st.Snapshot()); got != "web:80" {
		t.Fatalf("before Reread: %q; the watcher saw the change, so this test cannot show Reread", got)
	}
	h.src.Reread()
	h.eventually("web:81")
}
