// Package file is the file-mode source: it reads manifests from files and
// directories into the store, and watches them to re-read everything after
// any change.
//
// Every reload re-reads all paths rather than patching the store per
// event: manifests are small, and a full read cannot drift from what is
// on disk however events were coalesced, lost or reordered.
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
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// Default debounce: editors and tools (kubectl cp, git checkout, kubelet's
// ConfigMap swap) change several files in a burst; one reload after the
// burst settles is enough.
const (
	DefaultHoldOff  = 100 * time.Millisecond
	DefaultMaxDelay = 500 * time.Millisecond
)

// Option configures a Source.
type Option func(*Source)

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

// Source reads manifests from paths into a store.
type Source struct {
	paths    []string
	st       *store.Store
	log      *slog.Logger
	holdOff  time.Duration
	maxDelay time.Duration

	mu sync.Mutex // serialises reloads and guards the fields below
	// loaded is the last content handed to the store, so a reload that
	// reads the same thing does not bump the store's version.
	objs   []store.Object
	diags  []diag.Diagnostic
	loaded bool

	// afterReload, when set (tests), is called after each reload.
	afterReload func(changed bool)
}

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

// reload re-reads every path and replaces the store's content if it
// differs from the last load.
func (s *Source) reload(trigger string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	objs, diags := k8s.DecodeFiles(s.paths)
	changed := !s.loaded || !reflect.DeepEqual(objs, s.objs) || !reflect.DeepEqual(diags, s.diags)
	if changed {
		s.st.Replace(objs, diags)
		s.objs, s.diags, s.loaded = objs, diags, true
	}
	var errs, warns int
	for _, d := range diags {
		switch d.Severity {
		case diag.Error:
			errs++
		case diag.Warning:
			warns++
		}
	}
	files := map[string]bool{}
	for _, o := range objs {
		files[o.Origin.File] = true
	}
	level := slog.LevelInfo
	if !changed {
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, "manifests read",
		"trigger", trigger, "changed", changed,
		"files", len(files), "objects", len(objs),
		"errors", errs, "warnings", warns,
		"duration", time.Since(start).Round(time.Microsecond))
	if s.afterReload != nil {
		s.afterReload(changed)
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

	ws := newWatchSet(w, s.paths, s.log)
	ws.sync()
	s.reload("watch")

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
				schedule()
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("file source: watcher closed")
			}
			// Overflow means events were lost: only a full re-read
			// recovers, which is what every reload is anyway.
			s.log.Warn("file watcher error; re-reading all manifests", "err", err)
			schedule()
		case <-timer.C:
			pending = false
			// Watch new directories before reading them, so a file
			// created in one after the read still raises an event.
			ws.sync()
			s.reload("change")
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
