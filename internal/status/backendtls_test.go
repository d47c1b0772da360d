package status

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/store"
)

// A BackendTLSPolicy gets moat's ancestor entry (the Gateway a route
// reaches its Service through) beside another controller's, and loses
// moat's entry, not the other, once no route of moat's reaches it.
func TestSyncBackendTLSPolicyStatus(t *testing.T) {
	old := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	gc := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"}}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "ns", Generation: 1},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat", Listeners: []gatewayv1.Listener{{Name: "http", Protocol: "HTTP", Port: 80}}}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	port := gatewayv1.PortNumber(80)
	hr := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", Generation: 1},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "s", Port: &port}}}}}}}}
	foreign := gatewayv1.PolicyAncestorStatus{AncestorRef: gatewayv1.ParentReference{Name: "theirs"}, ControllerName: "example.com/other",
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: old}}}
	system := gatewayv1.WellKnownCACertificatesSystem
	p := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Generation: 3},
		Spec: gatewayv1.BackendTLSPolicySpec{
			TargetRefs: []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: "s"}}},
			Validation: gatewayv1.BackendTLSPolicyValidation{WellKnownCACertificates: &system, Hostname: "s.internal"}},
		Status: gatewayv1.PolicyStatus{Ancestors: []gatewayv1.PolicyAncestorStatus{foreign}}}
	client := gwfake.NewSimpleClientset()
	ctx := context.Background()
	c := client.GatewayV1()
	if _, err := c.BackendTLSPolicies("ns").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := New(Options{Gateway: client})
	sn := store.FromObjects([]store.Object{{Obj: gc}, {Obj: gw}, {Obj: svc}, {Obj: hr}, {Obj: p}}, nil)
	if err := w.syncGateway(ctx, &reconcile.Result{Snapshot: sn}); err != nil {
		t.Fatal(err)
	}
	got, _ := c.BackendTLSPolicies("ns").Get(ctx, "p", metav1.GetOptions{})
	as := got.Status.Ancestors
	if len(as) != 2 || as[0].ControllerName != "example.com/other" || as[1].ControllerName != "moat.dev/gateway-controller" ||
		as[1].AncestorRef.Name != "gw" || *as[1].AncestorRef.Namespace != "ns" || *as[1].AncestorRef.Kind != "Gateway" {
		t.Fatalf("ancestors %+v", as)
	}
	for _, typ := range []string{"Accepted", "ResolvedRefs"} {
		if cd := meta.FindStatusCondition(as[1].Conditions, typ); cd == nil || cd.Status != metav1.ConditionTrue || cd.ObservedGeneration != 3 {
			t.Errorf("%s: %+v", typ, cd)
		}
	}
	// The route goes: moat's ancestor goes, the other controller's stays.
	sn = store.FromObjects([]store.Object{{Obj: gc}, {Obj: gw}, {Obj: svc}, {Obj: got}}, nil)
	if err := w.syncGateway(ctx, &reconcile.Result{Snapshot: sn}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.BackendTLSPolicies("ns").Get(ctx, "p", metav1.GetOptions{})
	if as := got.Status.Ancestors; len(as) != 1 || as[0].ControllerName != "example.com/other" {
		t.Errorf("ancestors after the route left: %+v", as)
	}
}
