package reconcile

import (
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/dump"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

// TestIngressChangeIsIncremental: a change to a plain Ingress is
// translated alone (Result.Incremental) and gives what a full Translate
// gives; after a refused apply the next pass translates in full, and a
// change to another kind always does.
func TestIngressChangeIsIncremental(t *testing.T) {
	st := store.New()
	prefix := networkingv1.PathTypePrefix
	ing := func(name, host string) store.Object {
		return store.Object{Obj: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: name},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}}
	}
	st.Upsert(store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}})
	// Both Ingresses use the pool: it needs an endpoint (an empty shared
	// pool's warning names its oldest user, which makes a change decline).
	ready := true
	st.Upsert(store.Object{Obj: &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		Endpoints:  []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}})
	st.Upsert(ing("a", "a.example"))
	st.Upsert(ing("b", "b.example"))
	opts := translate.Options{WatchWithoutClass: true}
	var refuse error
	l := &Loop{Store: st, Options: opts, Apply: func(*routecfg.Config) error { return refuse }}
	check := func(step string, wantIncremental bool) {
		t.Helper()
		res := l.Once()
		if res.Incremental != wantIncremental {
			t.Fatalf("%s: Incremental %v, want %v", step, res.Incremental, wantIncremental)
		}
		cfg, diags := translate.Translate(res.Snapshot, opts)
		if !reflect.DeepEqual(res.Config, cfg) || !reflect.DeepEqual(res.Diagnostics, diags) {
			t.Fatalf("%s: result differs from Translate's\n--- got\n%s--- want\n%s", step, dump.Config(res.Config), dump.Config(cfg))
		}
	}
	check("first pass", false)
	st.Upsert(ing("b", "c.example"))
	check("host renamed", true)
	st.Delete(store.Key{Kind: store.KindIngress, Namespace: "d", Name: "a"})
	check("ingress deleted", true)
	refuse = errors.New("refused")
	st.Upsert(ing("a", "a.example"))
	check("refused", true)
	refuse = nil
	st.Upsert(ing("a", "a2.example"))
	check("after a refused apply", false)
	st.Upsert(ing("b", "b.example"))
	check("host renamed again", true)
	st.Upsert(store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 81}}}}})
	check("service changed", false)
}
