package store

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

func TestSnapshotIsImmutableAndVersioned(t *testing.T) {
	s := New()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "x"}}
	s.Upsert(Object{Obj: ing, Origin: diag.Origin{File: "a.yaml", Line: 3}})
	s.Upsert(Object{Obj: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "y"}}})
	s.Upsert(Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "svc"}}})
	s.Upsert(Object{Obj: &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "svc-2",
		Labels: map[string]string{discoveryv1.LabelServiceName: "svc"}}}})
	s.Upsert(Object{Obj: &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "svc-1",
		Labels: map[string]string{discoveryv1.LabelServiceName: "svc"}}}})
	s.Upsert(Object{Obj: &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "orphan"}}})
	sn := s.Snapshot()
	if sn.Version != 6 {
		t.Errorf("version %d, want 6 after six changes", sn.Version)
	}
	if len(sn.Ingresses) != 2 || sn.Ingresses[0].Name != "y" {
		t.Errorf("ingresses not sorted by namespace/name: %v", sn.Ingresses)
	}
	if l := sn.EndpointSlices["a/svc"]; len(l) != 2 || l[0].Name != "svc-1" {
		t.Errorf("slices of a/svc: %v", l)
	}
	if o := sn.Origin(KindIngress, "b", "x"); o.File != "a.yaml" || o.Line != 3 {
		t.Errorf("origin %v", o)
	}
	s.Delete(Key{KindIngress, "b", "x"})
	s.Delete(Key{KindIngress, "b", "absent"})
	if len(sn.Ingresses) != 2 {
		t.Errorf("an earlier snapshot changed after Delete")
	}
	if sn2 := s.Snapshot(); len(sn2.Ingresses) != 1 || sn2.Version != 7 {
		t.Errorf("after delete: %d ingresses, version %d", len(sn2.Ingresses), sn2.Version)
	}
	s.Replace(nil, []diag.Diagnostic{{Reason: "X"}})
	if sn3 := s.Snapshot(); len(sn3.Ingresses) != 0 || len(sn3.Diagnostics) != 1 {
		t.Errorf("after replace: %+v", sn3)
	}
	select {
	case <-s.Changed():
	default:
		t.Errorf("no change signal pending")
	}
}

// TestChanges: SnapshotChanges reports what changed since its last call;
// an empty batch changes nothing.
func TestChanges(t *testing.T) {
	s := New()
	svc := func(name string) Object {
		return Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: name}}}
	}
	slice := Object{Obj: &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "x-1"}}}
	if _, c := s.SnapshotChanges(); !c.All {
		t.Errorf("first call: %+v, want All", c)
	}
	s.Apply(Batch{Upserts: []Object{svc("x"), slice}})
	sn, c := s.SnapshotChanges()
	if c.All || len(c.Keys) != 2 || c.OnlyKind(KindEndpointSlice) || sn.Version != 1 {
		t.Errorf("after a batch of two: %+v, version %d", c, sn.Version)
	}
	s.Apply(Batch{})
	s.Apply(Batch{Deletes: []Key{{KindService, "a", "absent"}}})
	if sn, c := s.SnapshotChanges(); len(c.Keys) != 0 || sn.Version != 1 {
		t.Errorf("empty batches changed something: %+v, version %d", c, sn.Version)
	}
	s.Apply(Batch{Upserts: []Object{slice}})
	if _, c := s.SnapshotChanges(); !c.OnlyKind(KindEndpointSlice) {
		t.Errorf("slice-only change: %+v", c)
	}
	s.Apply(Batch{Upserts: []Object{slice}, SetDiagnostics: true})
	if _, c := s.SnapshotChanges(); c.OnlyKind(KindEndpointSlice) || !c.Diagnostics {
		t.Errorf("slice and diagnostics change: %+v", c)
	}
	s.Delete(Key{KindService, "a", "x"})
	if sn, c := s.SnapshotChanges(); len(c.Keys) != 1 || len(sn.Services) != 0 {
		t.Errorf("after delete: %+v", c)
	}
	s.Replace(nil, nil)
	if _, c := s.SnapshotChanges(); !c.All {
		t.Errorf("after Replace: %+v", c)
	}
}

// TestSnapshotPatchedEqualsBuilt: a snapshot patched from the previous one
// after a few changes is the one a full Build gives, across random
// upserts, deletes and relabelled slices.
func TestSnapshotPatchedEqualsBuilt(t *testing.T) {
	s := New()
	s.maxDelta = 16 // fold the changes into a new base now and then
	rng := rand.New(rand.NewPCG(1, 2))
	obj := func(i int) Object {
		ns, name := fmt.Sprint("ns", i%3), fmt.Sprint("o", i%40)
		origin := diag.Origin{File: fmt.Sprint("f", rng.IntN(3), ".yaml"), Line: rng.IntN(9)}
		switch i % 6 {
		case 0:
			return Object{Obj: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, Origin: origin}
		case 1:
			return Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, Origin: origin}
		case 2:
			return Object{Obj: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
		case 3:
			return Object{Obj: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
		case 4:
			return Object{Obj: &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}}}
		}
		labels := map[string]string{discoveryv1.LabelServiceName: fmt.Sprint("svc", rng.IntN(3))}
		if rng.IntN(5) == 0 {
			labels = nil
		}
		return Object{Obj: &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}, Origin: origin}
	}
	for i := range 300 {
		s.Upsert(obj(rng.IntN(240)))
		if i == 0 {
			s.Snapshot() // the full build the others patch
		}
	}
	for round := range 300 {
		for range rng.IntN(4) + 1 {
			o := obj(rng.IntN(240))
			switch rng.IntN(3) {
			case 0:
				k, _ := KeyOf(o.Obj)
				s.Delete(k)
			case 1:
				s.Apply(Batch{Upserts: []Object{o}, SetDiagnostics: rng.IntN(4) == 0, Diagnostics: []diag.Diagnostic{{Reason: fmt.Sprint(round)}}})
			default:
				s.Upsert(o)
			}
		}
		got := s.Snapshot()
		s.mu.Lock()
		want := Build(s.version, s.objs, s.diags)
		s.mu.Unlock()
		if g, w := flat(got), flat(want); !reflect.DeepEqual(g, w) {
			t.Fatalf("round %d: patched snapshot's objects differ from a full build's", round)
		}
		g, w := *got, *want
		g.objs, g.delta, w.objs, w.delta = nil, nil, nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("round %d: patched snapshot differs from a full build\ngot  %+v\nwant %+v", round, g, w)
		}
	}
}

// flat returns every object of sn by key, through Get.
func flat(sn *Snapshot) map[Key]Object {
	out := map[Key]Object{}
	for _, m := range []map[Key]Object{sn.objs, sn.delta} {
		for k := range m {
			if o, ok := sn.Get(k); ok {
				out[k] = o
			}
		}
	}
	return out
}
