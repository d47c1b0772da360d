package status

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/store"
)

// The writer writes the computed Gateway API status once, keeps another
// controller's parent entry of a route and the transition time of an
// unchanged condition, and writes nothing when nothing changed.
func TestSyncGatewayStatus(t *testing.T) {
	old := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	gc := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat", Generation: 2},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"},
		Status: gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{
			{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", ObservedGeneration: 2, LastTransitionTime: old}}}}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "ns", Generation: 1},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat", Listeners: []gatewayv1.Listener{{Name: "http", Protocol: "HTTP", Port: 80}}}}
	foreign := gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: "theirs"}, ControllerName: "example.com/other",
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: old}}}
	hr := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", Generation: 5},
		Spec:   gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}, {Name: "theirs"}}}},
		Status: gatewayv1.HTTPRouteStatus{RouteStatus: gatewayv1.RouteStatus{Parents: []gatewayv1.RouteParentStatus{foreign}}}}
	// Created through the typed client: the fake's tracker files a
	// Gateway given to NewSimpleClientset under another resource.
	client := gwfake.NewSimpleClientset()
	ctx := context.Background()
	c := client.GatewayV1()
	if _, err := c.GatewayClasses().Create(ctx, gc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Gateways("ns").Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HTTPRoutes("ns").Create(ctx, hr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := New(Options{Gateway: client})
	sn := store.FromObjects([]store.Object{{Obj: gc}, {Obj: gw}, {Obj: hr}}, nil)
	if err := w.syncGateway(ctx, &reconcile.Result{Snapshot: sn}); err != nil {
		t.Fatal(err)
	}
	gotGC, _ := c.GatewayClasses().Get(ctx, "moat", metav1.GetOptions{})
	if a := meta.FindStatusCondition(gotGC.Status.Conditions, "Accepted"); a == nil || !a.LastTransitionTime.Equal(&old) || len(gotGC.Status.SupportedFeatures) == 0 {
		t.Errorf("GatewayClass status %+v: want the old transition time kept and features", gotGC.Status)
	}
	gotGW, _ := c.Gateways("ns").Get(ctx, "gw", metav1.GetOptions{})
	if len(gotGW.Status.Listeners) != 1 || gotGW.Status.Listeners[0].AttachedRoutes != 1 ||
		meta.FindStatusCondition(gotGW.Status.Conditions, "Programmed") == nil {
		t.Errorf("Gateway status %+v", gotGW.Status)
	}
	gotHR, _ := c.HTTPRoutes("ns").Get(ctx, "r", metav1.GetOptions{})
	if ps := gotHR.Status.Parents; len(ps) != 2 || ps[0].ControllerName != "example.com/other" || ps[1].ControllerName != "moat.dev/gateway-controller" ||
		meta.FindStatusCondition(ps[1].Conditions, "Accepted").ObservedGeneration != 5 {
		t.Errorf("HTTPRoute parents %+v", ps)
	}
	// Nothing changed (the objects as now stored): no write.
	n := testutil.ToFloat64(w.updates)
	sn2 := store.FromObjects([]store.Object{{Obj: gotGC}, {Obj: gotGW}, {Obj: gotHR}}, nil)
	if err := w.syncGateway(ctx, &reconcile.Result{Snapshot: sn2}); err != nil {
		t.Fatal(err)
	}
	if d := testutil.ToFloat64(w.updates) - n; d != 0 {
		t.Errorf("%v writes for an unchanged status", d)
	}
	if n != 3 {
		t.Errorf("%v writes, want 3 (class, Gateway, route)", n)
	}
}
