package balance

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func reader(kv ...string) *annotations.Reader {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[annotations.DefaultPrefix+"/"+kv[i]] = kv[i+1]
	}
	return annotations.NewReader("", m, diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "b"})
}

func TestParseHashKey(t *testing.T) {
	P := func(s routecfg.HashSource, n string) routecfg.HashPart { return routecfg.HashPart{Source: s, Name: n} }
	cases := map[string][]routecfg.HashPart{
		"$request_uri":          {P(routecfg.HashRequestURI, "")},
		"$binary_remote_addr":   {P(routecfg.HashRemoteAddr, "")},
		"$http_x_user_id":       {P(routecfg.HashHeader, "X-User-Id")},
		"$cookie_SESSION":       {P(routecfg.HashCookie, "SESSION")},
		"$host$request_uri":     {P(routecfg.HashHost, ""), P(routecfg.HashRequestURI, "")},
		"user-${arg_id}:x":      {P(routecfg.HashLiteral, "user-"), P(routecfg.HashArg, "id"), P(routecfg.HashLiteral, ":x")},
		"$scheme://$host$uri":   {P(routecfg.HashScheme, ""), P(routecfg.HashLiteral, "://"), P(routecfg.HashHost, ""), P(routecfg.HashURI, "")},
		"$request_method $args": {P(routecfg.HashMethod, ""), P(routecfg.HashLiteral, " "), P(routecfg.HashArgs, "")},
	}
	for in, want := range cases {
		got, err := ParseHashKey(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseHashKey(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"constant", "$upstream_addr", "${host", "$", "$http_", "x$"} {
		if _, err := ParseHashKey(bad); err == nil {
			t.Errorf("ParseHashKey(%q) accepted", bad)
		}
	}
}

func TestParse(t *testing.T) {
	if Parse(reader()) != nil {
		t.Fatal("nothing set")
	}
	r := reader("load-balance", "ewma", "upstream-hash-by", "$remote_addr", "upstream-hash-by-subset", "true",
		"service-upstream", "true", "upstream-vhost", "internal.example:8080")
	b := Parse(r)
	if len(r.Diags) != 0 || b.Algorithm != routecfg.EWMA || len(b.HashBy) != 1 || b.HashSubsetSize != 3 || !b.ServiceUpstream || b.UpstreamVHost != "internal.example:8080" {
		t.Fatalf("%+v %v", b, r.Diags)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct{ key, value string }{
		{"load-balance", "least_conn"},
		{"load-balance", "ip_hash"},
		{"upstream-hash-by", "$upstream_addr"},
		{"upstream-hash-by", "static"},
		{"upstream-hash-by-subset", "yes"},
		{"upstream-hash-by-subset-size", "0"},
		{"upstream-hash-by-subset-size", "three"},
		{"service-upstream", "1x"},
		{"upstream-vhost", "$host"},
		{"upstream-vhost", "a b"},
	}
	for _, tc := range cases {
		r := reader(tc.key, tc.value)
		Parse(r)
		if len(r.Diags) != 1 || r.Diags[0].Reason != "AnnotationInvalidValue" ||
			!strings.HasSuffix(r.Diags[0].Field, "/"+tc.key) || !strings.Contains(r.Diags[0].Message, strconv.Quote(tc.value)) {
			t.Errorf("%s=%q: %v", tc.key, tc.value, r.Diags)
		}
	}
	r := reader("upstream-hash-by-subset", "true")
	if b := Parse(r); b.HashSubsetSize != 0 || len(r.Diags) != 1 || r.Diags[0].Reason != "HashSubsetWithoutKey" {
		t.Fatalf("%v", r.Diags)
	}
}
