package translate

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// TestSortByAgeTies: Ingresses created in the same second are ordered by
// "namespace/name" descending, as ingress-nginx's sortIngressSlice does,
// and nsNameAfter agrees with comparing the joined strings.
func TestSortByAgeTies(t *testing.T) {
	names := []string{"a", "a-b", "a.b", "ab", "b", "default", "default-x", "z"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		an, a := names[rng.IntN(len(names))], names[rng.IntN(len(names))]
		bn, b := names[rng.IntN(len(names))], names[rng.IntN(len(names))]
		if got, want := nsNameAfter(an, a, bn, b), an+"/"+a > bn+"/"+b; got != want {
			t.Fatalf("nsNameAfter(%s/%s, %s/%s) = %v, want %v", an, a, bn, b, got, want)
		}
	}
	ts := metav1.Unix(1700000000, 0)
	ing := func(ns, name string, at metav1.Time) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: at}}
	}
	list := []*networkingv1.Ingress{ing("a", "x", ts), ing("b", "x", ts), ing("a-b", "x", ts), ing("z", "old", metav1.Unix(1600000000, 0))}
	sortByAge(list)
	var got []string
	for _, i := range list {
		got = append(got, i.Namespace+"/"+i.Name)
	}
	if want := "z/old b/x a/x a-b/x"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}

// route translates one Ingress with the given paths on host h.example and
// looks request up; it returns "typ path" of the path that matched or "".
func routeOf(t *testing.T, annotations string, paths [][2]string, request string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: svc}\nspec: {ports: [{port: 80}]}\n---\n")
	b.WriteString("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: t, annotations: {" + annotations + "}}\nspec:\n  rules:\n  - host: h.example\n    http:\n      paths:\n")
	for i, p := range paths {
		// The Service name encodes which path matched.
		fmt.Fprintf(&b, "      - {path: %q, pathType: %s, backend: {service: {name: svc%d, port: {number: 80}}}}\n", p[1], p[0], i)
	}
	objs, _ := k8s.Decode([]byte(b.String()), "row.yaml")
	cfg, _ := Translate(store.FromObjects(objs, nil), Options{IngressClass: "moat", WatchWithoutClass: true})
	_, rt := router.Compile(cfg).Lookup("h.example", request)
	if rt == nil {
		return ""
	}
	var i int
	fmt.Sscanf(rt.Source.Service, "svc%d", &i)
	return paths[i][0] + " " + paths[i][1]
}

// TestImplementationSpecificIsPrefix pins ingress-nginx's behaviour:
// its store turns ImplementationSpecific into Prefix
// (internal/k8s/main.go SetDefaultNGINXPathType, called by toIngress and
// for every stored copy since v0.32), and updateServerLocations makes
// Prefix element-wise (location /api/ plus location = /api). So without
// use-regex or rewrite-target, ImplementationSpecific /api does not take
// /apix or /api-docs; with them it is the regex ^/api (case-insensitive).
func TestImplementationSpecificIsPrefix(t *testing.T) {
	impl := [][2]string{{"ImplementationSpecific", "/api"}}
	for _, c := range []struct {
		ann, req, want string
	}{
		{"", "/api", "ImplementationSpecific /api"},
		{"", "/api/", "ImplementationSpecific /api"},
		{"", "/api/v1", "ImplementationSpecific /api"},
		{"", "/apix", ""},
		{"", "/api-docs", ""},
		{"", "/API", ""},
		{"nginx.ingress.kubernetes.io/use-regex: \"true\"", "/apix", "ImplementationSpecific /api"},
		{"nginx.ingress.kubernetes.io/use-regex: \"true\"", "/API-docs", "ImplementationSpecific /api"},
	} {
		if got := routeOf(t, c.ann, impl, c.req); got != c.want {
			t.Errorf("annotations {%s}: %s matched %q, want %q", c.ann, c.req, got, c.want)
		}
	}
}

// TestRegexOrderTies: nginx takes the first regex location that matches;
// ingress-nginx sorts them by path descending, then stably by length
// descending (getBackendServers), so of two equally long paths the one
// that sorts later as a string comes first, whatever the Ingress order.
func TestRegexOrderTies(t *testing.T) {
	paths := [][2]string{{"ImplementationSpecific", "/a.c"}, {"ImplementationSpecific", "/ab."}, {"ImplementationSpecific", "/"}}
	if got, want := routeOf(t, "nginx.ingress.kubernetes.io/use-regex: \"true\"", paths, "/abc"), "ImplementationSpecific /ab."; got != want {
		t.Errorf("/abc matched %q, want %q", got, want)
	}
	paths[0], paths[1] = paths[1], paths[0]
	if got, want := routeOf(t, "nginx.ingress.kubernetes.io/use-regex: \"true\"", paths, "/abc"), "ImplementationSpecific /ab."; got != want {
		t.Errorf("swapped: /abc matched %q, want %q", got, want)
	}
}
