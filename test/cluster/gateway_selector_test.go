package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// TestGatewayNamespaceSelector: under deploy/'s RBAC moat watches
// Namespaces, so a listener with allowedRoutes.namespaces.from Selector
// takes a route once its namespace gets the label, live.
func TestGatewayNamespaceSelector(t *testing.T) {
	infra, app := namespace(t, "gwsel-infra"), namespace(t, "gwsel-app")
	ctx := context.Background()
	gw, err := gatewayclient.NewForConfig(cp.admin)
	if err != nil {
		t.Fatal(err)
	}
	c := gw.GatewayV1()
	createService(t, app, "web", backend(t, "web"))
	class := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat-selector"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"}}
	if _, err := c.GatewayClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.GatewayClasses().Delete(context.Background(), "moat-selector", metav1.DeleteOptions{}) })
	from := gatewayv1.NamespacesFromSelector
	gateway := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: infra},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat-selector", Listeners: []gatewayv1.Listener{{
			Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &from,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"gateway-selector-test": "backend"}}}},
		}}}}
	if _, err := c.Gateways(infra).Create(ctx, gateway, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := gatewayv1.PortNumber(80)
	gwNS := gatewayv1.Namespace(infra)
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: app},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw", Namespace: &gwNS}}},
			Hostnames:       []gatewayv1.Hostname{"selector.gateway.test"},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: &port}}}}}},
		}}
	if _, err := c.HTTPRoutes(app).Create(ctx, route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	startMoat(t, "moat-gwselector", nil, infra, app)
	accepted := func(reason string) func() error {
		return func() error {
			r, err := c.HTTPRoutes(app).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(r.Status.Parents) != 1 {
				return fmt.Errorf("parents %+v", r.Status.Parents)
			}
			if a := meta.FindStatusCondition(r.Status.Parents[0].Conditions, "Accepted"); a == nil || a.Reason != reason {
				return fmt.Errorf("Accepted %+v, want reason %s", a, reason)
			}
			return nil
		}
	}
	eventually(t, 20*time.Second, "route not allowed while its namespace lacks the label", accepted("NotAllowedByListeners"))
	patch := []byte(`{"metadata":{"labels":{"gateway-selector-test":"backend"}}}`)
	if _, err := cp.client.CoreV1().Namespaces().Patch(ctx, app, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "route accepted once its namespace has the label", accepted("Accepted"))
	eventually(t, 20*time.Second, "listener counts the route", func() error {
		g, err := c.Gateways(infra).Get(ctx, "gw", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(g.Status.Listeners) != 1 || g.Status.Listeners[0].AttachedRoutes != 1 {
			return fmt.Errorf("listeners %+v", g.Status.Listeners)
		}
		return nil
	})
}
