package ratelimit

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
)

func reader(kv ...string) *annotations.Reader {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[annotations.DefaultPrefix+"/"+kv[i]] = kv[i+1]
	}
	return annotations.NewReader("", m, diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "web"})
}

func TestParse(t *testing.T) {
	if Parse(reader()) != nil {
		t.Fatal("nothing set")
	}
	r := reader("limit-rps", "10", "limit-rpm", "100", "limit-burst-multiplier", "2", "limit-connections", "4",
		"limit-whitelist", "10.0.0.0/8, 192.168.1.7", "limit-rate", "100", "limit-rate-after", "10")
	l := Parse(r)
	if len(r.Diags) != 0 {
		t.Fatal(r.Diags)
	}
	if l.Zone != "ns/web" || l.RPS != 10 || l.BurstRPS != 20 || l.RPM != 100 || l.BurstRPM != 200 || l.Connections != 4 ||
		l.Rate != 100<<10 || l.RateAfter != 10<<10 {
		t.Fatalf("%+v", l)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}
	if len(l.Allow) != 2 || l.Allow[0] != want[0] || l.Allow[1] != want[1] {
		t.Fatalf("allow %v", l.Allow)
	}
	// limit-allowlist wins over the old name; the default multiplier is 5.
	l = Parse(reader("limit-rps", "3", "limit-allowlist", "1.2.3.4", "limit-whitelist", "5.6.7.8"))
	if l.BurstRPS != 15 || len(l.Allow) != 1 || l.Allow[0].Addr().String() != "1.2.3.4" {
		t.Fatalf("%+v", l)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct{ key, value string }{
		{"limit-rps", "ten"},
		{"limit-rps", "-1"},
		{"limit-rpm", "1.5"},
		{"limit-connections", "x"},
		{"limit-burst-multiplier", "-2"},
		{"limit-allowlist", "10.0.0.0/33"},
		{"limit-whitelist", "not-an-ip"},
		{"limit-rate", "100k"},
		{"limit-rate-after", "-1"},
	}
	for _, tc := range cases {
		kv := []string{tc.key, tc.value}
		if tc.key != "limit-rps" {
			kv = append(kv, "limit-rps", "1")
		}
		r := reader(kv...)
		Parse(r)
		if len(r.Diags) != 1 || r.Diags[0].Reason != "AnnotationInvalidValue" ||
			!strings.HasSuffix(r.Diags[0].Field, "/"+tc.key) || !strings.Contains(r.Diags[0].Message, strconv.Quote(tc.value)) {
			t.Errorf("%s=%q: %v", tc.key, tc.value, r.Diags)
		}
	}
	r := reader("limit-allowlist", "10.0.0.0/8")
	if Parse(r) != nil || len(r.Diags) != 1 || r.Diags[0].Reason != "LimitWithoutRate" {
		t.Fatalf("%v", r.Diags)
	}
}
