package store

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Gateway API objects reach snapshots both when built whole and when
// patched by a later change.
func TestSnapshotGatewayAPI(t *testing.T) {
	s := New()
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw"}}
	s.Replace([]Object{{Obj: gw}}, nil)
	sn1 := s.Snapshot()
	if sn1.GatewayAPI[Key{KindGateway, "ns", "gw"}] != gw {
		t.Fatalf("built snapshot lacks the Gateway: %v", sn1.GatewayAPI)
	}
	hr := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"}}
	s.Upsert(Object{Obj: hr})
	s.Delete(Key{KindGateway, "ns", "gw"})
	sn2 := s.Snapshot()
	if len(sn2.GatewayAPI) != 1 || sn2.GatewayAPI[Key{KindHTTPRoute, "ns", "r"}] != hr {
		t.Errorf("patched snapshot: %v", sn2.GatewayAPI)
	}
	if len(sn1.GatewayAPI) != 1 || sn1.GatewayAPI[Key{KindGateway, "ns", "gw"}] != gw {
		t.Errorf("the earlier snapshot changed: %v", sn1.GatewayAPI)
	}
}

// Namespaces (read for a listener's namespace selector) reach snapshots
// built whole and patched, and stay out of GatewayAPI, which says
// whether Gateway API is in use at all.
func TestSnapshotNamespaces(t *testing.T) {
	s := New()
	a := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"team": "a"}}}
	s.Replace([]Object{{Obj: a}}, nil)
	sn1 := s.Snapshot()
	if sn1.Namespaces["a"] != a || len(sn1.GatewayAPI) != 0 {
		t.Fatalf("built snapshot: namespaces %v, gateway API %v", sn1.Namespaces, sn1.GatewayAPI)
	}
	b := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}}
	s.Upsert(Object{Obj: b})
	s.Delete(Key{KindNamespace, "", "a"})
	sn2 := s.Snapshot()
	if len(sn2.Namespaces) != 1 || sn2.Namespaces["b"] != b {
		t.Errorf("patched snapshot: %v", sn2.Namespaces)
	}
	if len(sn1.Namespaces) != 1 || sn1.Namespaces["a"] != a {
		t.Errorf("the earlier snapshot changed: %v", sn1.Namespaces)
	}
}
