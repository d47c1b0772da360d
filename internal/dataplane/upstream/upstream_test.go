package upstream

import (
	"sync"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func pools(kv ...any) map[string]*routecfg.Pool {
	out := map[string]*routecfg.Pool{}
	for i := 0; i < len(kv); i += 2 {
		key := kv[i].(string)
		p := &routecfg.Pool{Key: key}
		for _, a := range kv[i+1].([]string) {
			p.Endpoints = append(p.Endpoints, routecfg.Endpoint{Address: a})
		}
		out[key] = p
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestRoundRobin(t *testing.T) {
	m := NewManager(Options{})
	m.Apply(pools("ns/a:80", []string{"1:1", "2:2", "3:3"}))
	got := map[string]int{}
	for range 9 {
		got[m.Pick("ns/a:80").Address]++
	}
	for _, a := range []string{"1:1", "2:2", "3:3"} {
		if got[a] != 3 {
			t.Errorf("%s picked %d times, want 3 (%v)", a, got[a], got)
		}
	}
	if e := m.Pick("ns/none:80"); e != nil {
		t.Errorf("unknown pool gave %v", e.Address)
	}
	m.Apply(pools("ns/a:80", []string{}))
	if e := m.Pick("ns/a:80"); e != nil {
		t.Errorf("empty pool gave %v", e.Address)
	}
}

func TestStateSurvivesApply(t *testing.T) {
	m := NewManager(Options{})
	m.Apply(pools("p", []string{"1:1", "2:2"}, "q", []string{"9:9"}))
	e1 := m.Endpoints("p")[0]
	e1.Acquire()
	m.MarkFailed(e1)

	m.Apply(pools("p", []string{"1:1", "3:3"}))
	eps := m.Endpoints("p")
	if len(eps) != 2 || eps[0] != e1 || eps[1].Address != "3:3" {
		t.Fatalf("endpoints after apply: %+v", eps)
	}
	if e1.InFlight() != 1 || e1.Failures() != 1 {
		t.Errorf("state lost: inflight %d failures %d", e1.InFlight(), e1.Failures())
	}
	if m.Endpoints("q") != nil || m.Pick("q") != nil {
		t.Error("removed pool still present")
	}
	// A re-added address starts fresh.
	m.Apply(pools("p", []string{"3:3"}))
	m.Apply(pools("p", []string{"1:1", "3:3"}))
	if e := m.Endpoints("p")[0]; e == e1 || e.Failures() != 0 {
		t.Error("dropped endpoint's state came back")
	}
}

func TestSkipRecentlyFailed(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	m := NewManager(Options{Now: c.now, FailTimeout: 5 * time.Second})
	m.Apply(pools("p", []string{"bad:1", "good:2"}))
	bad := m.Endpoints("p")[0]
	m.MarkFailed(bad)
	for range 6 {
		if e := m.Pick("p"); e == bad {
			t.Fatal("picked a recently failed endpoint while another is available")
		}
	}
	c.t = c.t.Add(5 * time.Second)
	seen := false
	for range 4 {
		seen = seen || m.Pick("p") == bad
	}
	if !seen {
		t.Error("failed endpoint not retried after the fail timeout")
	}
	// All failed: still pick something rather than nothing.
	m.MarkFailed(bad)
	m.MarkFailed(m.Endpoints("p")[1])
	if m.Pick("p") == nil {
		t.Error("all-failed pool returned nil")
	}
	m.MarkSucceeded(bad)
	if bad.Failures() != 0 {
		t.Error("success did not clear failures")
	}
}

func TestConcurrentPickAndApply(t *testing.T) {
	m := NewManager(Options{})
	m.Apply(pools("p", []string{"1:1", "2:2"}))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if e := m.Pick("p"); e != nil {
					e.Acquire()
					e.Release()
				}
			}
		})
	}
	for i := range 200 {
		if i%2 == 0 {
			m.Apply(pools("p", []string{"1:1", "2:2"}))
		} else {
			m.Apply(pools("p", []string{"2:2", "3:3"}))
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkPick(b *testing.B) {
	m := NewManager(Options{})
	m.Apply(pools("ns/svc:80", []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Pick("ns/svc:80")
		}
	})
}
