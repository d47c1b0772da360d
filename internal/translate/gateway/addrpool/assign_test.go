package addrpool

import (
	"net/netip"
	"testing"
)

func TestPoolHosts(t *testing.T) {
	for _, c := range []struct {
		pool, first string
		n           int64
	}{
		{"10.0.0.0/24", "10.0.0.1", 254},
		{"10.0.0.4/31", "10.0.0.4", 2},
		{"10.0.0.4/32", "10.0.0.4", 1},
		{"fd00::/120", "fd00::1", 255},
		{"fd00::/64", "fd00::1", 1 << 40},
	} {
		first, n := poolHosts(netip.MustParsePrefix(c.pool))
		if first.String() != c.first || n != c.n {
			t.Errorf("%s: %s, %d; want %s, %d", c.pool, first, n, c.first, c.n)
		}
	}
	if got := addrAt(netip.MustParseAddr("10.0.0.255"), 2); got.String() != "10.0.1.1" {
		t.Errorf("addrAt = %s", got)
	}
}
