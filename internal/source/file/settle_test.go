package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/store"
)

// TestInPlaceWriteHeldBack: a file rewritten in place is not applied
// while it is still changing, even when the half written so far parses
// (it would remove the objects of the other half); once quiet it is
// applied. A file renamed into place is applied at once (#11 item 5).
func TestInPlaceWriteHeldBack(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	h := newIncremental(t, map[string]string{a: service("a1", 80) + "---\n" + service("a2", 81)}, dir)
	if got := services(h.st.Snapshot()); got != "a1:80 a2:81" {
		t.Fatalf("loaded %q", got)
	}
	// The first half of an in-place rewrite, just written.
	write(t, a, service("a1", 80)+"---\n")
	if retry := h.src.reload("test"); retry <= 0 || retry > DefaultSettle {
		t.Errorf("retry in %v, want within the settle time %v", retry, DefaultSettle)
	}
	if got := services(h.st.Snapshot()); got != "a1:80 a2:81" {
		t.Fatalf("a half-written file was applied: %q", got)
	}
	// The rest, then quiet for the settle time.
	write(t, a, service("a1", 80)+"---\n"+service("a2", 82))
	h.expect("", "", "a1:80 a2:81")
	h.src.now = func() time.Time { return time.Now().Add(DefaultSettle) }
	h.expect("a.yaml", "Service/a2", "a1:80 a2:82")

	// Written elsewhere and renamed into place: complete, applied at once
	// even though just written.
	h.src.now = time.Now
	tmp := filepath.Join(dir, ".a.yaml.tmp")
	write(t, tmp, service("a1", 90))
	time.Sleep(20 * time.Millisecond) // a rename in a later clock tick than the write
	must(t, os.Rename(tmp, a))
	h.expect("a.yaml", "Service/a1 Service/a2", "a1:90")

	// A new file is held back the same way.
	b := filepath.Join(dir, "b.yaml")
	write(t, b, service("b", 80))
	// (a.yaml may be read again: just renamed, it is "racy".)
	if _, changed, sn := h.reload(); changed != "" || services(sn) != "a1:90" {
		t.Errorf("a new file just written: changed %q, services %q", changed, services(sn))
	}
	h.src.now = func() time.Time { return time.Now().Add(DefaultSettle) }
	if _, changed, sn := h.reload(); changed != "Service/b" || services(sn) != "a1:90 b:80" {
		t.Errorf("a new file once quiet: changed %q, services %q", changed, services(sn))
	}
}

// TestManifestSizeCap: a file over the cap is reported, naming it, and
// its last good content keeps serving.
func TestManifestSizeCap(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	h := &incremental{t: t, st: store.New()}
	h.settled(a, service("a", 80))
	h.src = New([]string{dir}, h.st, nil, WithMaxBytes(200))
	h.src.onDecode = func(p string) { h.decoded = append(h.decoded, filepath.Base(p)) }
	h.src.Load()
	h.st.SnapshotChanges()
	h.settled(a, service("a", 81)+"---\n"+service("padding-"+strings.Repeat("x", 200), 1))
	sn := h.expect("a.yaml", "", "a:80")
	if !hasDiag(sn.Diagnostics, ReasonTooLarge, a) || !hasDiag(sn.Diagnostics, ReasonLastGoodKept, a) {
		t.Errorf("diagnostics %v, want %s and %s naming %s", sn.Diagnostics, ReasonTooLarge, ReasonLastGoodKept, a)
	}
	h.settled(a, service("a", 82))
	sn = h.expect("a.yaml", "Service/a", "a:82")
	if hasDiag(sn.Diagnostics, ReasonTooLarge, a) {
		t.Errorf("%s still reported after the file shrank", ReasonTooLarge)
	}
}
