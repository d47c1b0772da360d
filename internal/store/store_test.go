package store

import (
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
