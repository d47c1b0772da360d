package limiter

import (
	"net/netip"
	"testing"
)

var (
	a = netip.MustParseAddr("192.0.2.1")
	b = netip.MustParseAddr("2001:db8::1")
)

// TestBurstThenRate: limit-rps 2 with burst 2×5=10 lets 11 requests
// through at once (nginx accepts the first with excess 0, then up to
// burst), then one every 500 ms.
func TestBurstThenRate(t *testing.T) {
	z := NewRequests(0)
	now := int64(1_000_000)
	n := 0
	for i := 0; i < 20; i++ {
		if z.Allow(a, now, 2, 1000, 10) {
			n++
		}
	}
	if n != 11 {
		t.Fatalf("%d passed at once, want 11", n)
	}
	if z.Allow(a, now+400, 2, 1000, 10) {
		t.Fatal("passed after 400 ms")
	}
	if !z.Allow(a, now+500, 2, 1000, 10) {
		t.Fatal("refused after 500 ms")
	}
	if !z.Allow(b, now, 2, 1000, 10) {
		t.Fatal("another client was limited")
	}
	// limit-rpm 60 (one a second), burst 0.
	z2 := NewRequests(0)
	if !z2.Allow(a, now, 60, 60000, 0) || z2.Allow(a, now+999, 60, 60000, 0) || !z2.Allow(a, now+1000, 60, 60000, 0) {
		t.Fatal("rpm arithmetic")
	}
	z3 := NewRequests(0)
	if got := []bool{z3.Allow(a, now, 1, 1000, 1), z3.Allow(a, now, 1, 1000, 1), z3.Allow(a, now, 1, 1000, 1)}; !got[0] || !got[1] || got[2] {
		t.Fatalf("burst 1: %v", got)
	}
	z3.Refund(a)
	if !z3.Allow(a, now, 1, 1000, 1) {
		t.Fatal("refund")
	}
}

func TestBounded(t *testing.T) {
	z := NewRequests(1024)
	base := netip.MustParseAddr("10.0.0.0").As4()
	for i := 0; i < 100000; i++ {
		ip := base
		ip[1], ip[2], ip[3] = byte(i>>16), byte(i>>8), byte(i)
		z.Allow(netip.AddrFrom4(ip), int64(i), 1, 1000, 5)
	}
	if n := z.Len(); n > 1024 {
		t.Fatalf("zone holds %d addresses, bound 1024", n)
	}
}

func TestConns(t *testing.T) {
	z := NewConns()
	if got := []bool{z.Acquire(a, 2, 0), z.Acquire(a, 2, 0), z.Acquire(a, 2, 0)}; !got[0] || !got[1] || got[2] {
		t.Fatalf("limit 2: %v", got)
	}
	if !z.Acquire(b, 2, 0) {
		t.Fatal("other client")
	}
	z.Release(a)
	if !z.Acquire(a, 2, 0) {
		t.Fatal("after release")
	}
	z.Release(a)
	z.Release(a)
	z.Release(b)
	if z.InFlight(a) != 0 || len(z.shards[shardOf(a)].m)+len(z.shards[shardOf(b)].m) != 0 {
		t.Fatal("entries left behind")
	}
}

func TestRegistryKeepsAndPrunes(t *testing.T) {
	r := NewRegistry(60_000)
	z := r.Requests("ns/a", 0)
	if r.Requests("ns/a", 1000) != z {
		t.Fatal("zone not kept")
	}
	c := r.Conns("ns/a", 0)
	if r.Conns("ns/a", 10) != c {
		t.Fatal("conn zone not kept")
	}
	// Creating a zone much later drops the idle ones.
	r.Requests("ns/b", 120_000)
	if r.Zones() != 1 {
		t.Fatalf("%d zones after pruning, want 1", r.Zones())
	}
}
