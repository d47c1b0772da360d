// Package file is the file-mode source: it reads manifests from files and
// directories into the store, and watches them to reload after any change.
//
// A reload lists and stats every path rather than trusting the events, so
// it cannot drift from what is on disk however events were coalesced, lost
// or reordered; but it decodes only the files whose identity, size or
// modification time changed, and hands the store only the objects that
// changed. At 10,000 Ingresses decoding everything cost seconds per change.
package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// Default debounce: editors and tools (kubectl cp, git checkout, kubelet's
// ConfigMap swap) change several files in a burst, within a few
// milliseconds; one reload after the burst settles is enough. The window
// is short because it is the only wait between a save and serving (the
// reconcile loop starts at once); a file changed in place is then held
// back until it has settled (DefaultSettle).
const (
	DefaultHoldOff  = 10 * time.Millisecond
	DefaultMaxDelay = 500 * time.Millisecond
)

// DefaultSettle is how long a changed file must stay unchanged before it
// is applied: a file rewritten in place is read while half-written, and a
// half that still parses (the first of two Ingresses, a list cut between
// items) would remove routes until the rest arrives. A file moved into
// place by rename (write a temporary file, then rename it: the documented
// way) is complete at once and is not held back.
//
// DefaultMaxBytes caps a manifest file: decoding a 10 MB file of 100,000
// documents took 10 s and 330 MB; a larger file is reported and its last
// good content keeps serving.
const (
	DefaultSettle   = 300 * time.Millisecond
	DefaultMaxBytes = 8 << 20
)

// Option configures a Source.
type Option func(*Source)

// WithSettle sets how long a changed file must stay unchanged (its size
// and modification time) before it is applied; 0 applies at once.
func WithSettle(d time.Duration) Option { return func(s *Source) { s.settle = max(d, 0) } }

// WithMaxBytes caps the size of a manifest file; 0 or less means
// DefaultMaxBytes.
func WithMaxBytes(n int64) Option {
	return func(s *Source) {
		if n <= 0 {
			n = DefaultMaxBytes
		}
		s.maxBytes = n
	}
}

// WithDebounce sets how long the source waits for changes to settle: a
// reload happens holdOff after the last event, but at most maxDelay after
// the first one of a burst, so a steady trickle of writes cannot postpone
// it forever.
func WithDebounce(holdOff, maxDelay time.Duration) Option {
	return func(s *Source) {
		s.holdOff, s.maxDelay = holdOff, max(maxDelay, holdOff)
	}
}

// SetDebounce is WithDebounce for a Source already built, for callers
// that learn the durations from flags after New. Call it before Run.
func (s *Source) SetDebounce(holdOff, maxDelay time.Duration) {
	WithDebounce(holdOff, maxDelay)(s)
}

// Decrypter opens encrypted manifest files in memory (internal/secrets).
type Decrypter interface {
	// Decrypt returns the objects and findings of an encrypted file;
	// handled is false for a plain file, which is decoded as usual. lost
	// reports content that could not be opened: the file's last good
	// content then keeps serving, as for a file that stops parsing.
	Decrypt(path string, data []byte) (objs []store.Object, diags []diag.Diagnostic, handled, lost bool)
	// KeyFiles are watched with the manifests: a change to one re-reads
	// every encrypted file.
	KeyFiles() []string
}

// WithDecrypter opens encrypted manifests with d.
func WithDecrypter(d Decrypter) Option {
	return func(s *Source) { s.dec = d }
}

// Source reads manifests from paths into a store.
type Source struct {
	paths    []string
	dec      Decrypter
	st       *store.Store
	log      *slog.Logger
	holdOff  time.Duration
	maxDelay time.Duration
	settle   time.Duration
	maxBytes int64

	mu sync.Mutex // serialises reloads and guards the fields below
	// files holds each manifest file's last decode, and diags the
	// findings last handed to the store.
	files map[string]*fileEntry
	// defs holds every definition of each key, in file order (two files
	// may define one object; the last wins); cur the winners.
	defs   map[store.Key][]store.Object
	multi  map[store.Key]struct{} // keys with more than one definition
	cur    map[store.Key]store.Object
	diags  []diag.Diagnostic
	loaded bool

	// reread asks Run to read every file again (Reread).
	reread chan struct{}

	// afterReload, when set (tests), is called after each reload;
	// onDecode for each file decoded.
	afterReload func(changed bool)
	onDecode    func(path string)
	readFile    func(path string) ([]byte, error) // os.ReadFile
	now         func() time.Time                  // time.Now
}

// fileEntry is one manifest file as last read.
type fileEntry struct {
	// info is the stat (through symbolic links) of the content read: a
	// file whose identity, size and modification time are unchanged is
	// not read again.
	info  os.FileInfo
	objs  []store.Object
	diags []diag.Diagnostic
	// racy is set when the file was modified so shortly before it was
	// read that a second write within the filesystem's timestamp
	// granularity could leave size and mtime unchanged (git's "racy
	// clean" problem); such an entry is read again on the next reload.
	racy bool
	// encrypted is set when the Decrypter handled the file: a key file
	// change reads it again.
	encrypted bool
	// changing is set when the file's stat changed while it was read.
	changing bool
}

// racyAge is how long after its modification a file's stat may not yet
// tell a second write from the first: a timestamp tick. Filesystems with
// nanosecond timestamps tick with the kernel's coarse clock (at most
// 10 ms); those with whole seconds (ext3, some network filesystems) every
// second or two. A file is read again while younger than this.
func racyAge(mtime time.Time) time.Duration {
	if mtime.Nanosecond()%int(time.Millisecond) != 0 {
		return 50 * time.Millisecond
	}
	return 2 * time.Second
}

// ReasonLastGoodKept reports a manifest file that no longer parses and
// whose last good content keeps serving; ReasonPathGone a path given to
// moat that disappeared, whose files' last good content keeps serving;
// ReasonTooLarge a file over the size cap.
const (
	ReasonLastGoodKept = "LastGoodManifestKept"
	ReasonPathGone     = "ManifestPathGone"
	ReasonTooLarge     = "ManifestTooLarge"
)

// New returns a source reading paths (files or directories, see
// k8s.ManifestFiles) into st. A nil log discards.
func New(paths []string, st *store.Store, log *slog.Logger, opts ...Option) *Source {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{
		paths:    append([]string(nil), paths...),
		st:       st,
		log:      log,
		holdOff:  DefaultHoldOff,
		maxDelay: DefaultMaxDelay,
		settle:   DefaultSettle,
		maxBytes: DefaultMaxBytes,
		readFile: os.ReadFile,
		now:      time.Now,
		defs:     map[store.Key][]store.Object{},
		multi:    map[store.Key]struct{}{},
		cur:      map[store.Key]store.Object{},
		reread:   make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Load reads all paths once and replaces the store's content. Unreadable
// paths and bad manifests become diagnostics in the store; Load itself
// cannot fail.
func (s *Source) Load() {
	s.reload("load")
}

// reload lists every path, decodes the files that changed since the last
// reload, and hands the store what changed. It returns how long until a
// file held back because it is still changing should be looked at again
// (0: none is).
func (s *Source) reload(trigger string) (retry time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	list, diags := k8s.ManifestFiles(s.paths)
	next := make(map[string]*fileEntry, len(list))
	touched := map[store.Key]struct{}{}
	decoded, held := 0, 0
	hold := func(d time.Duration) {
		held++
		if retry == 0 || d < retry {
			retry = max(d, time.Millisecond)
		}
	}
	for _, f := range list {
		fi, err := os.Stat(f)
		old := s.files[f]
		if err == nil && old != nil && !old.racy && old.info != nil && sameContent(old.info, fi) {
			next[f] = old
			continue
		}
		if wait := s.unsettled(fi, err); wait > 0 {
			// Still being written: keep what was there (nothing, for a
			// new file) and look again once it has been quiet.
			if old != nil {
				next[f] = old
			}
			hold(wait)
			continue
		}
		decoded++
		e := s.read(f, fi, err, old)
		if e.changing && s.loaded && s.settle > 0 {
			if old != nil {
				next[f] = old
			}
			hold(s.settle)
			continue
		}
		next[f] = e
		if old != nil {
			s.undefine(f, old.objs, touched)
		}
		s.define(f, e.objs, touched)
	}
	diags = append(diags, s.keepGone(next)...)
	for f, old := range s.files {
		if _, ok := next[f]; !ok {
			s.undefine(f, old.objs, touched)
		}
	}
	s.files = next

	// The winner of each touched key is its last definition in file
	// order, as k8s.DecodeFiles has it.
	var b store.Batch
	for k := range touched {
		defs := s.defs[k]
		if len(defs) > 1 {
			s.multi[k] = struct{}{}
		} else {
			delete(s.multi, k)
		}
		if len(defs) == 0 {
			delete(s.defs, k)
			if _, ok := s.cur[k]; ok {
				delete(s.cur, k)
				b.Deletes = append(b.Deletes, k)
			}
			continue
		}
		w := defs[len(defs)-1]
		if prev, ok := s.cur[k]; !ok || prev.Obj != w.Obj || prev.Origin != w.Origin {
			s.cur[k] = w
			b.Upserts = append(b.Upserts, w)
		}
	}
	for _, f := range list {
		if e := next[f]; e != nil { // nil: a new file held back
			diags = append(diags, e.diags...)
		}
	}
	diags = append(diags, s.duplicates()...)
	if !reflect.DeepEqual(diags, s.diags) {
		b.Diagnostics, b.SetDiagnostics = diags, true
	}
	changed := !s.loaded || len(b.Upserts) > 0 || len(b.Deletes) > 0 || b.SetDiagnostics
	switch {
	case !s.loaded:
		objs := make([]store.Object, 0, len(s.cur))
		for _, o := range s.cur {
			objs = append(objs, o)
		}
		s.st.Replace(objs, diags)
	case changed:
		s.st.Apply(b)
	}
	s.diags, s.loaded = diags, true

	var errs, warns int
	for _, d := range diags {
		switch d.Severity {
		case diag.Error:
			errs++
		case diag.Warning:
			warns++
		}
	}
	level := slog.LevelInfo
	if !changed && trigger != "reread" { // a requested re-read is always reported
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, "manifests read",
		"trigger", trigger, "changed", changed,
		"files", len(list), "decoded", decoded, "objects", len(s.cur),
		"upserts", len(b.Upserts), "deletes", len(b.Deletes),
		"errors", errs, "warnings", warns, "held", held,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
	if s.afterReload != nil {
		s.afterReload(changed)
	}
	return retry
}

// unsettled returns how long file fi must still stay unchanged before it
// is read, or 0. The first load reads everything at once: there is no
// last good content to protect yet.
func (s *Source) unsettled(fi os.FileInfo, statErr error) time.Duration {
	if !s.loaded || s.settle <= 0 || statErr != nil {
		return 0
	}
	if movedIntoPlace(fi) {
		return 0
	}
	if age := s.now().Sub(fi.ModTime()); age < s.settle {
		return s.settle - age
	}
	return 0
}

// keepGone keeps the files under each given path that has disappeared
// (a deleted or unmounted directory, a file deleted to be replaced):
// removing every route because a directory went away is never what was
// meant. The path is reported; when it comes back it is read again.
func (s *Source) keepGone(next map[string]*fileEntry) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, p := range s.paths {
		p = filepath.Clean(p)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		files, objs := 0, 0
		for f, e := range s.files {
			if _, ok := next[f]; ok || len(e.objs) == 0 || (f != p && !strings.HasPrefix(f, p+string(filepath.Separator))) {
				continue
			}
			next[f] = e
			files++
			objs += len(e.objs)
		}
		if files > 0 {
			out = append(out, diag.Diagnostic{
				Object:   diag.ObjectRef{Origin: diag.Origin{File: p}},
				Severity: diag.Warning, Reason: ReasonPathGone,
				Message: fmt.Sprintf("%s is gone; the last good content of its %d files (%d objects) keeps serving until it comes back", p, files, objs),
				Hint:    "to remove these routes, empty the directory or delete the files rather than the whole path",
			})
		}
	}
	return out
}

// define adds the definitions of file f, keeping each key's definitions
// in file order (and in document order within a file).
func (s *Source) define(f string, objs []store.Object, touched map[store.Key]struct{}) {
	for _, o := range objs {
		k, ok := store.KeyOf(o.Obj)
		if !ok {
			continue
		}
		touched[k] = struct{}{}
		defs := s.defs[k]
		i := len(defs)
		for i > 0 && defs[i-1].Origin.File > f {
			i--
		}
		s.defs[k] = slices.Insert(defs, i, o)
	}
}

// undefine removes the definitions of file f.
func (s *Source) undefine(f string, objs []store.Object, touched map[store.Key]struct{}) {
	for _, o := range objs {
		k, ok := store.KeyOf(o.Obj)
		if !ok {
			continue
		}
		touched[k] = struct{}{}
		s.defs[k] = slices.DeleteFunc(s.defs[k], func(d store.Object) bool { return d.Origin.File == f })
	}
}

// duplicates reports every definition that another one overrides.
func (s *Source) duplicates() []diag.Diagnostic {
	var out []diag.Diagnostic
	for k := range s.multi {
		defs := s.defs[k]
		w := defs[len(defs)-1].Origin
		for _, d := range defs[:len(defs)-1] {
			out = append(out, k8s.DuplicateObject(k, d.Origin, w))
		}
	}
	diag.Sort(out)
	return out
}

// read decodes file f. When its new content cannot be read or parsed but
// an earlier read of it was good, that earlier content keeps serving: a
// half-saved file or a typo must not take its routes down.
func (s *Source) read(f string, fi os.FileInfo, statErr error, old *fileEntry) *fileEntry {
	if s.onDecode != nil {
		s.onDecode(f)
	}
	data, err := []byte(nil), statErr
	racy, changing := false, false
	var diags []diag.Diagnostic
	switch {
	case err != nil:
	case fi.Size() > s.maxBytes:
		err = errTooLarge
		diags = []diag.Diagnostic{s.tooLarge(f, fi.Size())}
	default:
		racy = s.now().Sub(fi.ModTime()) < racyAge(fi.ModTime())
		data, err = s.readFile(f)
		if err == nil && int64(len(data)) > s.maxBytes {
			err = errTooLarge
			diags = []diag.Diagnostic{s.tooLarge(f, int64(len(data)))}
		}
		if after, serr := os.Stat(f); err == nil && (serr != nil || !sameContent(fi, after)) {
			changing = true
		}
	}
	var objs []store.Object
	encrypted, lost := false, false
	switch {
	case err == errTooLarge:
		fi = nil
	case err != nil:
		fi, diags = nil, []diag.Diagnostic{k8s.ReadError(f, err)}
	case s.dec != nil:
		objs, diags, encrypted, lost = s.dec.Decrypt(f, data)
		if !encrypted {
			objs, diags = k8s.Decode(data, f)
		}
	default:
		objs, diags = k8s.Decode(data, f)
	}
	if old == nil || len(old.objs) == 0 || !lost && !failed(err, diags) {
		if old != nil {
			reuse(objs, old.objs)
		}
		return &fileEntry{info: fi, objs: objs, diags: diags, racy: racy, encrypted: encrypted, changing: changing}
	}
	kept := diag.Diagnostic{
		Object:   diag.ObjectRef{Origin: diag.Origin{File: f}},
		Severity: diag.Warning, Reason: ReasonLastGoodKept,
		Message: fmt.Sprintf("%s has errors; its last good content (%d objects) keeps serving until they are fixed", f, len(old.objs)),
	}
	return &fileEntry{info: fi, objs: old.objs, diags: append(slices.Clip(diags), kept), racy: racy, encrypted: encrypted, changing: changing}
}

var errTooLarge = errors.New("manifest too large")

func (s *Source) tooLarge(f string, n int64) diag.Diagnostic {
	return diag.Diagnostic{
		Object:   diag.ObjectRef{Origin: diag.Origin{File: f}},
		Severity: diag.Error, Reason: ReasonTooLarge,
		Message: fmt.Sprintf("%s is %d bytes, over the %d-byte limit for a manifest file; it is not read", f, n, s.maxBytes),
		Hint:    "split it into several files, or raise --max-manifest-bytes",
	}
}

// reuse replaces each object of objs that is equal to its previous
// decode by the previous one, so that the store sees only what really
// changed: one edited EndpointSlice in a file of a hundred Ingresses is an
// endpoint-only change.
func reuse(objs, prev []store.Object) {
	byKey := make(map[store.Key]store.Object, len(prev))
	for _, o := range prev {
		if k, ok := store.KeyOf(o.Obj); ok {
			byKey[k] = o
		}
	}
	for i, o := range objs {
		k, ok := store.KeyOf(o.Obj)
		if !ok {
			continue
		}
		if p, ok := byKey[k]; ok && p.Origin == o.Origin && reflect.DeepEqual(p.Obj, o.Obj) {
			objs[i] = p
		}
	}
}

// failed reports whether a read lost objects: the file could not be read,
// or a document or object in it could not be decoded.
func failed(readErr error, diags []diag.Diagnostic) bool {
	if readErr != nil {
		return true
	}
	for _, d := range diags {
		if d.Severity == diag.Error && (d.Reason == k8s.ReasonParseError || d.Reason == k8s.ReasonInvalid) {
			return true
		}
	}
	return false
}

// sameContent reports whether two stats are of the same unchanged file: a
// save by rename (editors, kubelet's ConfigMap swap) changes the inode, an
// in-place write the size or modification time.
func sameContent(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// Reread asks Run to read every path and file again, not only those whose
// stat changed: for filesystems whose changes inotify does not see (NFS,
// some FUSE mounts) and edits that keep size and mtime. It does not block;
// requests made while one is pending coalesce.
func (s *Source) Reread() {
	select {
	case s.reread <- struct{}{}:
	default:
	}
}

// Run watches the paths until ctx is done, reloading after each burst of
// relevant changes. It returns nil when ctx ends, and an error only when
// watching itself fails (no inotify instances left, the watcher closed).
//
// Run re-reads once right after its watches are in place, so a change
// made between Load and Run is not missed; if nothing changed, the store
// is left alone.
func (s *Source) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("file source: starting watcher: %w", err)
	}
	defer w.Close()

	var keyFiles []string
	if s.dec != nil {
		keyFiles = s.dec.KeyFiles()
	}
	ws := newWatchSet(w, append(slices.Clone(s.paths), keyFiles...), s.log)
	// Directories of key files: a key mounted from a Kubernetes Secret
	// changes by kubelet's "..data" swap, not by an event on its name.
	keyDirs := map[string]bool{}
	for _, k := range keyFiles {
		if abs, err := filepath.Abs(k); err == nil {
			keyDirs[filepath.Dir(abs)] = true
		}
	}
	ws.sync()
	// settleTimer looks again at files held back while being written.
	settleTimer := time.NewTimer(time.Hour)
	settleTimer.Stop()
	defer settleTimer.Stop()
	reload := func(trigger string) {
		if d := s.reload(trigger); d > 0 {
			settleTimer.Reset(d)
		}
	}
	reload("watch")

	// Go 1.23 timers: Reset needs no draining and a stopped timer's
	// channel never delivers a stale tick.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var (
		pending  bool
		deadline time.Time
	)
	schedule := func() {
		now := time.Now()
		if !pending {
			pending, deadline = true, now.Add(s.maxDelay)
		}
		timer.Reset(min(s.holdOff, deadline.Sub(now)))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("file source: watcher closed")
			}
			if ws.relevant(ev) {
				s.log.Debug("manifest change", "path", ev.Name, "op", ev.Op.String())
				ws.forget(ev)
				if keyDirs[filepath.Dir(filepath.Clean(ev.Name))] {
					// A key file changed: files that did not open
					// may now, and the others must still open.
					s.mu.Lock()
					for _, e := range s.files {
						e.racy = e.racy || e.encrypted
					}
					s.mu.Unlock()
				}
				schedule()
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("file source: watcher closed")
			}
			// Overflow means events were lost: re-read everything,
			// not only the files whose stat changed.
			s.log.Warn("file watcher error; re-reading all manifests", "err", err)
			s.mu.Lock()
			for _, e := range s.files {
				e.racy = true
			}
			s.mu.Unlock()
			schedule()
		case <-s.reread:
			// SIGHUP: read every file, whatever its stat says, and
			// watch new directories; the store changes only if the
			// content did.
			s.mu.Lock()
			for _, e := range s.files {
				e.racy = true
			}
			s.mu.Unlock()
			ws.sync()
			s.reload("reread")
		case <-timer.C:
			pending = false
			// Watch new directories before reading them, so a file
			// created in one after the read still raises an event.
			ws.sync()
			reload("change")
		case <-settleTimer.C:
			reload("settle")
		}
	}
}

// watchSet keeps the inotify watches in line with the paths: every
// directory of a watched tree, plus the parent (or nearest existing
// ancestor) of each path so that the path itself being created, deleted,
// or replaced by rename is seen. fsnotify is not recursive, and a watch on
// a file is lost when an editor saves by renaming a new file over it;
// watching directories and filtering by name survives both.
type watchSet struct {
	w     *fsnotify.Watcher
	log   *slog.Logger
	paths []string // absolute
	// dirs maps each watched directory to whether it lies inside a
	// watched tree (true) or is only the parent of a path (false).
	dirs map[string]bool
}

func newWatchSet(w *fsnotify.Watcher, paths []string, log *slog.Logger) *watchSet {
	ws := &watchSet{w: w, log: log, dirs: map[string]bool{}}
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			ws.paths = append(ws.paths, abs)
		}
	}
	return ws
}

// sync adds watches for the directories that now exist and drops those
// that are gone or no longer wanted.
func (ws *watchSet) sync() {
	want := map[string]bool{}
	for _, p := range ws.paths {
		if anc := existingAncestor(filepath.Dir(p)); anc != "" {
			if _, ok := want[anc]; !ok {
				want[anc] = false
			}
		}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			walkDirs(p, want, map[string]bool{})
		}
	}
	for d := range ws.dirs {
		if _, ok := want[d]; !ok {
			// Errors are expected: inotify drops the watch of a
			// deleted directory by itself.
			_ = ws.w.Remove(d)
			delete(ws.dirs, d)
		}
	}
	for d, inTree := range want {
		// Add even when already watched: a directory replaced by a
		// rename keeps its name but not its inode, and Add moves the
		// watch to the new one.
		if err := ws.w.Add(d); err != nil {
			// Raced with a deletion, or out of inotify watches; the
			// next event or reload retries.
			ws.log.Warn("cannot watch directory", "path", d, "err", err)
			delete(ws.dirs, d)
			continue
		}
		ws.dirs[d] = inTree
	}
}

// forget drops the watch of a directory that was removed or renamed away,
// so that events from its old inode stop.
func (ws *watchSet) forget(ev fsnotify.Event) {
	name := filepath.Clean(ev.Name)
	if _, ok := ws.dirs[name]; ok && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) {
		_ = ws.w.Remove(name) // already gone with the directory, usually
		delete(ws.dirs, name)
	}
}

// existingAncestor returns dir or its nearest existing ancestor directory.
func existingAncestor(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// walkDirs adds dir and its subdirectories to into, skipping hidden
// names and following symbolic links like k8s.ManifestFiles does.
func walkDirs(dir string, into map[string]bool, visited map[string]bool) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil || visited[real] {
		return
	}
	visited[real] = true
	into[dir] = true
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		full := filepath.Join(dir, e.Name())
		if isDir(full, e) {
			walkDirs(full, into, visited)
		}
	}
}

func isDir(full string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir()
	}
	fi, err := os.Stat(full)
	return err == nil && fi.IsDir()
}

// relevant reports whether an event can change what DecodeFiles reads.
func (ws *watchSet) relevant(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	for _, p := range ws.paths {
		// The path itself, or a directory on the way to it.
		if name == p || strings.HasPrefix(p, name+string(filepath.Separator)) {
			return true
		}
	}
	base := filepath.Base(name)
	// Kubelet updates ConfigMap and Secret volumes by swapping the
	// "..data" symlink; the visible files are links through it.
	if strings.HasPrefix(base, "..") {
		return true
	}
	if !ws.dirs[filepath.Dir(name)] {
		return false // a sibling next to a watched path
	}
	if strings.HasPrefix(base, ".") {
		return false // editor swap files, .git
	}
	if k8s.IsManifestFile(base) {
		return true
	}
	if _, watched := ws.dirs[name]; watched {
		return true // a watched subdirectory was removed or renamed
	}
	if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) {
		fi, err := os.Stat(name)
		return err == nil && fi.IsDir()
	}
	return false
}
