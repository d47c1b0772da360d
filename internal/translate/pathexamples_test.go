package translate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// TestAPIPathExamples reproduces the Ingress API documentation's path
// matching examples table: each row's paths go through translate and the
// compiled router, and the request path must land on the expected one.
func TestAPIPathExamples(t *testing.T) {
	type path struct{ typ, path string }
	rows := []struct {
		paths   []path
		request string
		want    string // "typ path" of the matching path, "" for no match
	}{
		{[]path{{"Prefix", "/"}}, "/anything/at/all", "Prefix /"},
		{[]path{{"Exact", "/foo"}}, "/foo", "Exact /foo"},
		{[]path{{"Exact", "/foo"}}, "/bar", ""},
		{[]path{{"Exact", "/foo"}}, "/foo/", ""},
		{[]path{{"Exact", "/foo/"}}, "/foo", ""},
		{[]path{{"Prefix", "/foo"}}, "/foo", "Prefix /foo"},
		{[]path{{"Prefix", "/foo"}}, "/foo/", "Prefix /foo"},
		{[]path{{"Prefix", "/foo/"}}, "/foo", "Prefix /foo/"},
		{[]path{{"Prefix", "/foo/"}}, "/foo/", "Prefix /foo/"},
		{[]path{{"Prefix", "/aaa/bb"}}, "/aaa/bbb", ""},
		{[]path{{"Prefix", "/aaa/bbb"}}, "/aaa/bbb", "Prefix /aaa/bbb"},
		{[]path{{"Prefix", "/aaa/bbb/"}}, "/aaa/bbb", "Prefix /aaa/bbb/"},
		{[]path{{"Prefix", "/aaa/bbb"}}, "/aaa/bbb/", "Prefix /aaa/bbb"},
		{[]path{{"Prefix", "/aaa/bbb"}}, "/aaa/bbb/ccc", "Prefix /aaa/bbb"},
		{[]path{{"Prefix", "/aaa/bbb"}}, "/aaa/bbbxyz", ""},
		{[]path{{"Prefix", "/"}, {"Prefix", "/aaa"}}, "/aaa/ccc", "Prefix /aaa"},
		{[]path{{"Prefix", "/"}, {"Prefix", "/aaa"}, {"Prefix", "/aaa/bbb"}}, "/aaa/bbb", "Prefix /aaa/bbb"},
		{[]path{{"Prefix", "/"}, {"Prefix", "/aaa"}, {"Prefix", "/aaa/bbb"}}, "/ccc", "Prefix /"},
		{[]path{{"Prefix", "/aaa"}}, "/ccc", ""},
		{[]path{{"Prefix", "/foo"}, {"Exact", "/foo"}}, "/foo", "Exact /foo"},
		// ImplementationSpecific is Prefix unless regex applies.
		{[]path{{"ImplementationSpecific", "/foo"}}, "/foo/bar", "ImplementationSpecific /foo"},
		{[]path{{"ImplementationSpecific", "/foo"}}, "/foobar", ""},
	}
	for i, row := range rows {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: svc}\nspec: {ports: [{port: 80}]}\n---\n")
		b.WriteString("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: t}\nspec:\n  rules:\n  - host: h.example\n    http:\n      paths:\n")
		for _, p := range row.paths {
			// The Service port name encodes which path matched.
			fmt.Fprintf(&b, "      - {path: %q, pathType: %s, backend: {service: {name: svc, port: {number: 80}}}}\n", p.path, p.typ)
		}
		objs, _ := k8s.Decode([]byte(b.String()), "row.yaml")
		cfg, _ := Translate(store.FromObjects(objs, nil), Options{IngressClass: "moat", WatchWithoutClass: true})
		_, rt := router.Compile(cfg).Lookup("h.example", row.request)
		got := ""
		if rt != nil {
			// Identify the row's path by its index in the Ingress.
			for _, p := range row.paths {
				if strings.TrimRight(p.path, "/") == strings.TrimRight(rt.Path, "/") && (p.typ == "Exact") == (rt.Match.String() == "Exact") {
					got = p.typ + " " + p.path
				}
			}
		}
		if got != row.want {
			t.Errorf("row %d: paths %v, request %q matched %q, want %q", i, row.paths, row.request, got, row.want)
		}
	}
}
