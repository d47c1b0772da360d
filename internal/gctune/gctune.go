// Package gctune sizes the Go heap for a long-running proxy.
//
// With GOGC=100 the collector runs whenever the heap has grown by its live
// size. A proxy's live heap is small (a few MiB of configuration and
// connection state) while it allocates ~7 KB per request, so at 16,000
// requests per second it collects ~30 times a second and spends 5-7% of
// its CPU there. The tuner instead lets the heap grow by a fixed headroom
// above the live heap (GOGC = headroom/live, between 100 and MaxPercent),
// which for a large configuration (10,000 Ingresses, >100 MiB live) is
// plain GOGC=100 again. A memory limit from the container's cgroup keeps
// the total bounded either way.
//
// An operator's GOGC or GOMEMLIMIT environment variable wins: the tuner
// then leaves that setting alone.
package gctune

import (
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
)

// Options tunes a Tuner; zero values take the defaults.
type Options struct {
	// Headroom is how far the heap may grow above the live heap before a
	// collection. Default 32 MiB.
	Headroom uint64
	// MaxPercent bounds the GOGC value the tuner sets. Default 1000.
	MaxPercent int
	// LimitFraction of the cgroup's memory limit becomes Go's soft memory
	// limit. Default 0.9.
	LimitFraction float64
	// Getenv and CgroupRoot are for tests; defaults os.Getenv and
	// /sys/fs/cgroup.
	Getenv     func(string) string
	CgroupRoot string
	Logger     *slog.Logger
}

// Percent is the GOGC value that lets a heap with live bytes grow by
// headroom, clamped to [100, maxPercent]; live 0 gives maxPercent.
func Percent(live, headroom uint64, maxPercent int) int {
	if live == 0 {
		return maxPercent
	}
	p := headroom * 100 / live
	switch {
	case p < 100:
		return 100
	case p > uint64(maxPercent):
		return maxPercent
	}
	return int(p)
}

// Tuner adjusts GOGC after every collection until Stop.
type Tuner struct {
	headroom   uint64
	maxPercent int
	log        *slog.Logger

	mu      sync.Mutex
	stopped bool
	percent int
	sample  []metrics.Sample
}

// Start applies the memory limit and starts the GOGC tuner, each unless
// its environment variable is set. Stop the returned tuner (nil when GOGC
// is set) to restore GOGC=100.
func Start(o Options) *Tuner {
	if o.Headroom == 0 {
		o.Headroom = 32 << 20
	}
	if o.MaxPercent == 0 {
		o.MaxPercent = 1000
	}
	if o.LimitFraction == 0 {
		o.LimitFraction = 0.9
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.CgroupRoot == "" {
		o.CgroupRoot = "/sys/fs/cgroup"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Getenv("GOMEMLIMIT") == "" {
		if limit, err := CgroupMemoryLimit(o.CgroupRoot); err == nil && limit > 0 {
			soft := int64(float64(limit) * o.LimitFraction)
			debug.SetMemoryLimit(soft)
			log.Debug("memory limit from the cgroup", "cgroup_bytes", limit, "gomemlimit_bytes", soft)
		}
	}
	if o.Getenv("GOGC") != "" {
		return nil
	}
	t := &Tuner{
		headroom:   o.Headroom,
		maxPercent: o.MaxPercent,
		log:        log,
		sample:     []metrics.Sample{{Name: "/gc/heap/live:bytes"}},
	}
	t.adjust()
	t.arm()
	return t
}

// sentinel is allocated once per GC cycle; its cleanup runs after the
// collection that found it unreachable. The pointer field keeps it out of
// the tiny allocator, whose blocks may never be freed individually.
type sentinel struct {
	_ *byte
	_ [16]byte
}

func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) {
		if t.adjust() {
			t.arm()
		}
	}, t)
}

// adjust sets GOGC from the live heap; false once stopped.
func (t *Tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	p := Percent(live, t.headroom, t.maxPercent)
	// Each SetGCPercent recomputes the pacer's goal under the heap lock;
	// a steady heap should not do that every cycle, so changes under 10%
	// are skipped.
	if t.percent == 0 || math.Abs(float64(p-t.percent)) >= float64(t.percent)/10 {
		debug.SetGCPercent(p)
		t.percent = p
	}
	return true
}

// GCPercent is the GOGC value the tuner set last.
func (t *Tuner) GCPercent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// Stop ends the tuning and restores GOGC=100.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.stopped = true
		debug.SetGCPercent(100)
	}
}

// CgroupMemoryLimit reads the memory limit of the process's cgroup (v2
// memory.max, else v1 memory.limit_in_bytes) under root; 0 when there is
// none.
func CgroupMemoryLimit(root string) (int64, error) {
	for _, f := range []string{"memory.max", "memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(root + "/" + f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, nil
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		// cgroup v1 reports "no limit" as a huge page-aligned number.
		if v >= math.MaxInt64/2 {
			return 0, nil
		}
		return v, nil
	}
	return 0, errors.New("no cgroup memory controller file")
}
