package translate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/dump"
	"github.com/moat-ingress/moat/internal/store"
)

// TestUpdateEndpointsMatchesTranslate: for every golden input and every
// Service with EndpointSlices, an endpoint-only change applied with
// UpdateEndpoints gives exactly what a full Translate of the changed
// snapshot gives, or declines (ok false) when a pool's last endpoint goes.
func TestUpdateEndpointsMatchesTranslate(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files found: %v", err)
	}
	gen := newCertGen(t)
	var updated, declined int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sec := splitSections(string(raw))
		opts := parseOptions(t, sec["options"])
		objs, ds := k8s.Decode([]byte(gen.expand(t, sec["input"])), "input.yaml")
		base := store.FromObjects(objs, ds)
		cfg, diags := Translate(base, opts)
		before := dump.Config(cfg)
		for svc := range base.EndpointSlices {
			for _, m := range mutations {
				name := fmt.Sprintf("%s/%s/%s", filepath.Base(f), svc, m.name)
				changed := store.FromObjects(mutate(objs, svc, m.fn), ds)
				next, keys, ok := UpdateEndpoints(cfg, changed, map[string]bool{svc: true})
				wantCfg, wantDiags := Translate(changed, opts)
				if !ok {
					declined++
					if renderDiags(wantDiags) == renderDiags(diags) && !emptiedPool(cfg, wantCfg) {
						t.Errorf("%s: declined, but only endpoints changed", name)
					}
					continue
				}
				updated++
				if got, want := dump.Config(next), dump.Config(wantCfg); got != want {
					t.Errorf("%s: config differs from Translate's\n--- got\n%s--- want\n%s", name, got, want)
				}
				if got, want := renderDiags(diags), renderDiags(wantDiags); got != want {
					t.Errorf("%s: diagnostics differ from Translate's\n--- got\n%s--- want\n%s", name, got, want)
				}
				for _, k := range keys {
					if next.Pools[k] == cfg.Pools[k] {
						t.Errorf("%s: pool %s reported changed but is the same", name, k)
					}
				}
				if dump.Config(cfg) != before {
					t.Errorf("%s: UpdateEndpoints modified its input config", name)
				}
			}
		}
	}
	t.Logf("%d endpoint changes updated in place, %d declined", updated, declined)
	if updated == 0 || declined == 0 {
		t.Errorf("updated %d, declined %d: the inputs no longer exercise both outcomes", updated, declined)
	}
}

var mutations = []struct {
	name string
	fn   func(*discoveryv1.EndpointSlice)
}{
	{"new-addresses", func(s *discoveryv1.EndpointSlice) {
		for i := range s.Endpoints {
			for j, a := range s.Endpoints[i].Addresses {
				if strings.Contains(a, ":") {
					s.Endpoints[i].Addresses[j] = "fd00::99:" + fmt.Sprint(i+1)
				} else {
					s.Endpoints[i].Addresses[j] = "10.99.0." + fmt.Sprint(i+1)
				}
			}
		}
	}},
	{"one-more", func(s *discoveryv1.EndpointSlice) {
		if len(s.Endpoints) > 0 && len(s.Endpoints[0].Addresses) > 0 && !strings.Contains(s.Endpoints[0].Addresses[0], ":") {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.98.0.1"}})
		}
	}},
	{"none-ready", func(s *discoveryv1.EndpointSlice) {
		f := false
		for i := range s.Endpoints {
			s.Endpoints[i].Conditions.Ready = &f
		}
	}},
}

// mutate returns objs with the slices of svc ("namespace/name") replaced
// by changed deep copies.
func mutate(objs []store.Object, svc string, fn func(*discoveryv1.EndpointSlice)) []store.Object {
	out := make([]store.Object, len(objs))
	for i, o := range objs {
		out[i] = o
		if s, ok := o.Obj.(*discoveryv1.EndpointSlice); ok && s.Namespace+"/"+s.Labels[discoveryv1.LabelServiceName] == svc {
			c := s.DeepCopy()
			fn(c)
			out[i].Obj = c
		}
	}
	return out
}

// emptiedPool reports whether a pool of a has endpoints and the same pool
// of b none, or the other way round.
func emptiedPool(a, b *routecfg.Config) bool {
	for k, p := range a.Pools {
		if q := b.Pools[k]; q != nil && (len(p.Endpoints) == 0) != (len(q.Endpoints) == 0) {
			return true
		}
	}
	return false
}
