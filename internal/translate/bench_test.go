package translate

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/store"
)

// benchSnapshot builds n Ingresses, each with its own host, Service and
// EndpointSlice (two endpoints) and paths paths.
func benchSnapshot(n, paths int) *store.Snapshot {
	return store.FromObjects(benchObjects(n, paths), nil)
}

func benchObjects(n, paths int) []store.Object {
	prefix := networkingv1.PathTypePrefix
	var objs []store.Object
	port := int32(8080)
	ready := true
	for i := 0; i < n; i++ {
		ns, name := "ns"+strconv.Itoa(i%50), "app"+strconv.Itoa(i)
		objs = append(objs,
			store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}},
			store.Object{Obj: &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-1",
				Labels: map[string]string{discoveryv1.LabelServiceName: name}},
				Ports: []discoveryv1.EndpointPort{{Port: &port}},
				Endpoints: []discoveryv1.Endpoint{
					{Addresses: []string{fmt.Sprintf("10.%d.%d.1", i/256, i%256)}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
					{Addresses: []string{fmt.Sprintf("10.%d.%d.2", i/256, i%256)}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
				}}})
		var ps []networkingv1.HTTPIngressPath
		for p := 0; p < paths; p++ {
			ps = append(ps, networkingv1.HTTPIngressPath{Path: "/p" + strconv.Itoa(p), PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}})
		}
		objs = append(objs, store.Object{Obj: &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(time.Unix(int64(i), 0))},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "host" + strconv.Itoa(i) + ".example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: ps}}}}}}})
	}
	return objs
}

// BenchmarkTranslate translates 1,000 (and 10,000) Ingresses with 10 paths
// each, their Services and EndpointSlices.
func BenchmarkTranslate(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n)+"-ingresses", func(b *testing.B) {
			sn := benchSnapshot(n, 10)
			opts := Options{IngressClass: "moat", WatchWithoutClass: true, Certs: NewCertCache()}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				cfg, diags := Translate(sn, opts)
				if len(cfg.VirtualHosts) != n || len(diags) != 0 {
					b.Fatalf("got %d hosts, %d diagnostics", len(cfg.VirtualHosts), len(diags))
				}
			}
		})
	}
}

// BenchmarkUpdateIngresses is one Ingress change (its host renamed) among
// 1,000 (and 10,000) Ingresses as the reconcile loop sees it: the store's
// patched snapshot and change record, then UpdateIngresses.
func BenchmarkUpdateIngresses(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n)+"-ingresses", func(b *testing.B) {
			objs := benchObjects(n, 10)
			st := store.New()
			st.Replace(objs, nil)
			opts := Options{IngressClass: "moat", WatchWithoutClass: true, Certs: NewCertCache()}
			sn, _ := st.SnapshotChanges()
			cfg, _, inc := TranslateIncremental(sn, opts)
			probe := objs[len(objs)-1].Obj.(*networkingv1.Ingress)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				i++
				ing := probe.DeepCopy()
				ing.Spec.Rules[0].Host = "probe-" + strconv.Itoa(i) + ".example.com"
				st.Upsert(store.Object{Obj: ing})
				sn, ch := st.SnapshotChanges()
				next, diags, ok := UpdateIngresses(inc, cfg, sn, ch, opts)
				if !ok || len(next.VirtualHosts) != n || len(diags) != 0 {
					b.Fatalf("ok %v, %d hosts, %d diagnostics", ok, len(next.VirtualHosts), len(diags))
				}
				cfg = next
			}
		})
	}
}

// benchHTTPRouteObjects is benchObjects with each Ingress written as the
// equivalent HTTPRoute (one rule, the paths as PathPrefix matches),
// attached to one Gateway with an HTTP listener.
func benchHTTPRouteObjects(n, paths int) []store.Object {
	objs := []store.Object{
		{Obj: &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat"},
			Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"}}},
		{Obj: &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "gw", Name: "gw"},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat", Listeners: []gatewayv1.Listener{{
				Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80,
				AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptrTo(gatewayv1.NamespacesFromAll)}},
			}}}}},
	}
	prefix := gatewayv1.PathMatchPathPrefix
	for _, o := range benchObjects(n, 0) {
		ing, ok := o.Obj.(*networkingv1.Ingress)
		if !ok {
			objs = append(objs, o)
			continue
		}
		var ms []gatewayv1.HTTPRouteMatch
		for p := 0; p < paths; p++ {
			ms = append(ms, gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: &prefix, Value: ptrTo("/p" + strconv.Itoa(p))}})
		}
		objs = append(objs, store.Object{Obj: &gatewayv1.HTTPRoute{
			ObjectMeta: ing.ObjectMeta,
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw", Namespace: ptrTo(gatewayv1.Namespace("gw"))}}},
				Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(ing.Spec.Rules[0].Host)},
				Rules: []gatewayv1.HTTPRouteRule{{Matches: ms, BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
					BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(ing.Name), Port: ptrTo(gatewayv1.PortNumber(80))}}}}}},
			}}})
	}
	return objs
}

// BenchmarkTranslateHTTPRoutes is BenchmarkTranslate with HTTPRoutes in
// place of the Ingresses: a change to an HTTPRoute takes a full
// translate (UpdateIngresses handles Ingresses alone), so this is what
// it costs.
func BenchmarkTranslateHTTPRoutes(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n)+"-httproutes", func(b *testing.B) {
			sn := store.FromObjects(benchHTTPRouteObjects(n, 10), nil)
			opts := Options{IngressClass: "moat", WatchWithoutClass: true, Certs: NewCertCache()}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				cfg, diags := Translate(sn, opts)
				if len(cfg.VirtualHosts) != n || len(diags) != 0 {
					b.Fatalf("got %d hosts, %d diagnostics", len(cfg.VirtualHosts), len(diags))
				}
			}
		})
	}
}
