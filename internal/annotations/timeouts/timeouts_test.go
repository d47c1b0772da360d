package timeouts

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func reader(kv ...string) *annotations.Reader {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[annotations.DefaultPrefix+"/"+kv[i]] = kv[i+1]
	}
	return annotations.NewReader("", m, diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "t"})
}

func TestParse(t *testing.T) {
	def := routecfg.DefaultTraffic().Timeouts
	if Parse(reader(), def) != nil {
		t.Fatal("nothing set")
	}
	r := reader("proxy-connect-timeout", "2", "proxy-read-timeout", "3600", "proxy-send-timeout", "30",
		"proxy-next-upstream", "error timeout http_503 non_idempotent", "proxy-next-upstream-tries", "5", "proxy-next-upstream-timeout", "10")
	got := Parse(r, def)
	want := routecfg.Timeouts{Connect: 2 * time.Second, Read: time.Hour, Send: 30 * time.Second,
		Next: routecfg.NextError | routecfg.NextTimeout | routecfg.NextHTTP503 | routecfg.NextNonIdempotent, Tries: 5, NextTimeout: 10 * time.Second}
	if len(r.Diags) != 0 || *got != want {
		t.Fatalf("got %+v want %+v %v", got, want, r.Diags)
	}
	got = Parse(reader("proxy-next-upstream", "off"), def)
	if got.Next != 0 || got.Tries != 3 || got.Read != 60*time.Second {
		t.Fatalf("%+v", got)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct{ key, value string }{
		{"proxy-connect-timeout", "5s"},
		{"proxy-connect-timeout", "0"},
		{"proxy-read-timeout", "-1"},
		{"proxy-read-timeout", "1.5"},
		{"proxy-send-timeout", "forever"},
		{"proxy-next-upstream", "error http_418"},
		{"proxy-next-upstream", ""},
		{"proxy-next-upstream", "error,timeout"},
		{"proxy-next-upstream-tries", "-1"},
		{"proxy-next-upstream-tries", "three"},
		{"proxy-next-upstream-timeout", "10m"},
	}
	def := routecfg.DefaultTraffic().Timeouts
	for _, tc := range cases {
		r := reader(tc.key, tc.value)
		got := Parse(r, def)
		if len(r.Diags) != 1 || r.Diags[0].Reason != "AnnotationInvalidValue" ||
			!strings.HasSuffix(r.Diags[0].Field, "/"+tc.key) || !strings.Contains(r.Diags[0].Message, strconv.Quote(tc.value)) {
			t.Errorf("%s=%q: %v", tc.key, tc.value, r.Diags)
		}
		if *got != def {
			t.Errorf("%s=%q: a bad value changed the policy: %+v", tc.key, tc.value, got)
		}
	}
}
