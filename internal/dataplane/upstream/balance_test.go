package upstream

import (
	"fmt"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func managerWith(key string, addrs ...string) *Manager {
	m := NewManager(Options{})
	eps := make([]routecfg.Endpoint, len(addrs))
	for i, a := range addrs {
		eps[i] = routecfg.Endpoint{Address: a}
	}
	m.Apply(map[string]*routecfg.Pool{key: {Key: key, Endpoints: eps}})
	return m
}

func addrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.0.%d:80", i+1)
	}
	return out
}

// TestRendezvousMovesOnlyTheRemovedEndpointsKeys: consistent hashing.
func TestRendezvousMovesOnlyTheRemovedEndpointsKeys(t *testing.T) {
	m := managerWith("p", addrs(5)...)
	before := map[int]string{}
	counts := map[string]int{}
	for k := 0; k < 2000; k++ {
		e := m.PickHash("p", HashString(HashSeed, fmt.Sprint("/item/", k)), 0, nil)
		before[k] = e.Address
		counts[e.Address]++
	}
	for a, c := range counts {
		if c < 250 || c > 550 {
			t.Errorf("endpoint %s got %d of 2000 keys; want about 400", a, c)
		}
	}
	m2 := managerWith("p", addrs(5)[1:]...)
	for k := 0; k < 2000; k++ {
		e := m2.PickHash("p", HashString(HashSeed, fmt.Sprint("/item/", k)), 0, nil)
		if before[k] != "10.0.0.1:80" && e.Address != before[k] {
			t.Fatalf("key %d moved from %s to %s though its endpoint stayed", k, before[k], e.Address)
		}
	}
}

func TestPickHashSkipsTried(t *testing.T) {
	m := managerWith("p", addrs(3)...)
	key := HashString(HashSeed, "k")
	first := m.PickHash("p", key, 0, nil)
	second := m.PickHash("p", key, 0, []*Endpoint{first})
	if second == nil || second == first {
		t.Fatalf("retry got %v after %v", second, first)
	}
	if e := m.PickHash("p", key, 0, m.Endpoints("p")); e != nil {
		t.Fatalf("all tried, got %v", e.Address)
	}
}

func TestPickHashSubset(t *testing.T) {
	m := managerWith("p", addrs(9)...)
	key := HashString(HashSeed, "user-42")
	seen := map[string]bool{}
	for i := 0; i < 300; i++ {
		seen[m.PickHash("p", key, 3, nil).Address] = true
	}
	if len(seen) != 3 {
		t.Fatalf("one key spread over %d endpoints, want its subset of 3: %v", len(seen), seen)
	}
}

func TestPickExcept(t *testing.T) {
	m := managerWith("p", addrs(3)...)
	eps := m.Endpoints("p")
	if e := m.PickExcept("p", eps[:2]); e != eps[2] {
		t.Fatalf("got %v", e)
	}
	if e := m.PickExcept("p", eps); e != nil {
		t.Fatalf("all tried, got %v", e)
	}
	if e := m.PickExcept("nope", nil); e != nil {
		t.Fatal("unknown pool")
	}
}

func TestPickEWMAPrefersFaster(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewManager(Options{Now: func() time.Time { return now }})
	m.Apply(map[string]*routecfg.Pool{"p": {Key: "p", Endpoints: []routecfg.Endpoint{{Address: "a:1"}, {Address: "b:1"}}}})
	eps := m.Endpoints("p")
	m.ObserveLatency(eps[0], 500*time.Millisecond)
	m.ObserveLatency(eps[1], 5*time.Millisecond)
	for i := 0; i < 50; i++ {
		if e := m.PickEWMA("p", nil); e != eps[1] {
			t.Fatalf("picked the slow endpoint")
		}
	}
	if e := m.PickEWMA("p", eps[1:]); e != eps[0] {
		t.Fatalf("with the fast one tried, got %v", e)
	}
	if e := m.PickEWMA("p", eps); e != nil {
		t.Fatal("all tried")
	}
	// The average decays: after a minute both are close to 0 again, and
	// a new sample dominates.
	now = now.Add(time.Minute)
	m.ObserveLatency(eps[1], time.Second)
	if e := m.PickEWMA("p", nil); e != eps[0] {
		t.Fatalf("decay: got %v", e.Address)
	}
}

func TestTokens(t *testing.T) {
	m := managerWith("ns/svc:80", addrs(3)...)
	eps := m.Endpoints("ns/svc:80")
	tok := eps[1].Token("ns/svc:80")
	if len(tok) != 32 || tok == eps[0].Token("ns/svc:80") {
		t.Fatalf("token %q", tok)
	}
	// Stable across managers (replicas, restarts) and never the address.
	m2 := managerWith("ns/svc:80", addrs(3)...)
	if e := m2.FindToken("ns/svc:80", tok); e == nil || e.Address != "10.0.0.2:80" {
		t.Fatalf("FindToken: %v", e)
	}
	if m2.FindToken("ns/svc:80", "nope") != nil || m2.FindToken("other", tok) != nil {
		t.Fatal("bad token found something")
	}
	if a1, a2 := PoolToken("a"), PoolToken("a"); a1 == PoolToken("b") || a1 != a2 {
		t.Fatal("pool tokens")
	}
}
