package gctune

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, headroom uint64
		max, want      int
	}{
		{4 * mib, 32 * mib, 1000, 800},  // small proxy heap: collect every 32 MiB
		{1 * mib, 32 * mib, 1000, 1000}, // clamped
		{0, 32 * mib, 1000, 1000},
		{64 * mib, 32 * mib, 1000, 100}, // large configuration: plain GOGC=100
		{130 * mib, 32 * mib, 1000, 100},
		{16 * mib, 32 * mib, 1000, 200},
	} {
		if got := Percent(c.live, c.headroom, c.max); got != c.want {
			t.Errorf("Percent(live %d MiB, headroom %d MiB, max %d) = %d, want %d", c.live/mib, c.headroom/mib, c.max, got, c.want)
		}
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	write := func(t *testing.T, rel, content string) string {
		root := t.TempDir()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return root
	}
	for _, c := range []struct {
		name, file, content string
		want                int64
		wantErr             bool
	}{
		{"v2 limit", "memory.max", "536870912\n", 536870912, false},
		{"v2 unlimited", "memory.max", "max\n", 0, false},
		{"v1 limit", "memory/memory.limit_in_bytes", "268435456\n", 268435456, false},
		{"v1 unlimited", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0, false},
		{"garbage", "memory.max", "lots\n", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := CgroupMemoryLimit(write(t, c.file, c.content))
			if (err != nil) != c.wantErr || got != c.want {
				t.Fatalf("CgroupMemoryLimit = %d, %v; want %d, error %v", got, err, c.want, c.wantErr)
			}
		})
	}
	if _, err := CgroupMemoryLimit(t.TempDir()); err == nil {
		t.Fatal("no cgroup files: want an error")
	}
}

// gogc reads the collector's current GOGC.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// restoreGC puts the process-wide GC settings back after a test.
func restoreGC(t *testing.T) {
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestStartFollowsTheLiveHeapAfterEachCollection(t *testing.T) {
	restoreGC(t)
	tu := Start(Options{Headroom: 32 << 20, Getenv: env(nil), CgroupRoot: t.TempDir()})
	if tu == nil {
		t.Fatal("Start returned nil without GOGC set")
	}
	defer tu.Stop()
	if got := gogc(); got <= 100 || got != tu.GCPercent() {
		t.Fatalf("after Start GOGC = %d, tuner says %d; want the same value above 100 for this small test heap", got, tu.GCPercent())
	}
	// Grow the live heap past the headroom: after the next collections the
	// tuner must fall back to GOGC=100.
	big := make([][]byte, 0, 96)
	for range 96 {
		big = append(big, make([]byte, 1<<20))
	}
	for i := 0; i < 20 && gogc() != 100; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := gogc(); got != 100 {
		t.Fatalf("with ~96 MiB live, GOGC = %d after 20 collections; want 100", got)
	}
	runtime.KeepAlive(big)
	big = nil
	for i := 0; i < 20 && gogc() == 100; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := gogc(); got <= 100 {
		t.Fatalf("after the live heap shrank, GOGC = %d; want it raised again", got)
	}
	tu.Stop()
	if got := gogc(); got != 100 {
		t.Fatalf("after Stop GOGC = %d, want 100", got)
	}
	runtime.GC()
	runtime.GC()
	if got := gogc(); got != 100 {
		t.Fatalf("a stopped tuner changed GOGC to %d", got)
	}
}

func TestStartLeavesOperatorSettingsAlone(t *testing.T) {
	restoreGC(t)
	cg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cg, "memory.max"), []byte("1073741824\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(math.MaxInt64)
	if tu := Start(Options{Getenv: env(map[string]string{"GOGC": "150", "GOMEMLIMIT": "2GiB"}), CgroupRoot: cg}); tu != nil {
		tu.Stop()
		t.Fatal("Start tuned GOGC although GOGC was set")
	}
	if got := gogc(); got != 150 {
		t.Fatalf("GOGC = %d, want the operator's 150", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("memory limit = %d although GOMEMLIMIT was set", got)
	}

	// Without GOMEMLIMIT the cgroup's limit applies, at 90%.
	tu := Start(Options{Getenv: env(map[string]string{"GOGC": "150"}), CgroupRoot: cg})
	if tu != nil {
		tu.Stop()
		t.Fatal("Start tuned GOGC although GOGC was set")
	}
	cgLimit := 1073741824.0
	if got, want := debug.SetMemoryLimit(-1), int64(cgLimit*0.9); got != want {
		t.Fatalf("memory limit = %d, want 90%% of the cgroup's 1 GiB = %d", got, want)
	}
}
