package ipaccess

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func TestParseNothing(t *testing.T) {
	r := annotest.Reader()
	if a := Parse(r, nil); a != nil {
		t.Fatalf("%+v", a)
	}
	annotest.NoDiags(t, r)
	// The ConfigMap's whitelist-source-range is the default allowlist.
	def := prefixes("10.0.0.0/8")
	a := Parse(annotest.Reader(), def)
	if a == nil || !slices.Equal(a.Allow, def) || a.Denied != "" {
		t.Fatalf("default: %+v", a)
	}
}

func TestParseGood(t *testing.T) {
	def := prefixes("10.0.0.0/8")
	cases := []struct {
		name string
		kv   []string
		want routecfg.Access
	}{
		{"allowlist", []string{"allowlist-source-range", "192.168.0.0/16, 1.2.3.4"},
			routecfg.Access{Allow: prefixes("192.168.0.0/16", "1.2.3.4/32")}},
		{"old name", []string{"whitelist-source-range", "192.168.1.0/24"}, routecfg.Access{Allow: prefixes("192.168.1.0/24")}},
		{"new name wins", []string{"allowlist-source-range", "1.1.1.1", "whitelist-source-range", "2.2.2.2"},
			routecfg.Access{Allow: prefixes("1.1.1.1/32")}},
		{"host bits masked", []string{"allowlist-source-range", "192.168.1.77/24"}, routecfg.Access{Allow: prefixes("192.168.1.0/24")}},
		{"ipv6", []string{"allowlist-source-range", "2001:db8::/32, ::1"}, routecfg.Access{Allow: prefixes("2001:db8::/32", "::1/128")}},
		{"denylist keeps the default allowlist", []string{"denylist-source-range", "10.1.0.0/16"},
			routecfg.Access{Allow: def, Deny: prefixes("10.1.0.0/16")}},
		{"satisfy any", []string{"satisfy", "any"}, routecfg.Access{Allow: def, SatisfyAny: true}},
		{"satisfy all", []string{"satisfy", "all"}, routecfg.Access{Allow: def}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := annotest.Reader(tc.kv...)
			a := Parse(r, def)
			annotest.NoDiags(t, r)
			if a == nil || !slices.Equal(a.Allow, tc.want.Allow) || !slices.Equal(a.Deny, tc.want.Deny) ||
				a.SatisfyAny != tc.want.SatisfyAny || a.Denied != "" {
				t.Errorf("got %+v, want %+v", a, tc.want)
			}
		})
	}
}

// TestParseBad: a bad address list denies the paths (503), as
// ingress-nginx's LocationDenied; a bad satisfy keeps all.
func TestParseBad(t *testing.T) {
	def := prefixes("10.0.0.0/8")
	cases := []struct {
		key, value string
		denied     bool
	}{
		{"allowlist-source-range", "10.0.0.0/33", true},
		{"allowlist-source-range", "1.2.3.4, example.com", true},
		{"whitelist-source-range", "300.1.1.1", true},
		{"denylist-source-range", "bad", true},
		{"denylist-source-range", "10.0.0.0/8;", true},
		{"satisfy", "some", false},
		{"satisfy", "ANY", false},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			r := annotest.Reader(tc.key, tc.value)
			a := Parse(r, def)
			annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
			if a == nil {
				t.Fatal("nil access")
			}
			if tc.denied != (a.Denied != "") {
				t.Errorf("denied %q, want denied=%v", a.Denied, tc.denied)
			}
			if a.SatisfyAny {
				t.Error("bad value turned satisfy any on")
			}
			if !slices.Equal(a.Allow, def) || len(a.Deny) != 0 {
				t.Errorf("lists changed: %+v", a)
			}
		})
	}
}
