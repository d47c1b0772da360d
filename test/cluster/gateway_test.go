package cluster

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// TestGatewayAPIStatus: with the Gateway API CRDs installed (from the
// module moat pins), moat watches GatewayClass, Gateway and HTTPRoute,
// serves the routes, and the leader writes the status the specification
// names, with observedGeneration following spec changes.
func TestGatewayAPIStatus(t *testing.T) {
	ns := namespace(t, "gateway")
	ctx := context.Background()
	gw, err := gatewayclient.NewForConfig(cp.admin)
	if err != nil {
		t.Fatal(err)
	}
	c := gw.GatewayV1()
	createService(t, ns, "web", backend(t, "web"))

	class := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"}}
	if _, err := c.GatewayClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.GatewayClasses().Delete(context.Background(), "moat", metav1.DeleteOptions{}) })
	gateway := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: ns},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat", Listeners: []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80}}}}
	if _, err := c.Gateways(ns).Create(ctx, gateway, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	route := func(name, host, svc string) *gatewayv1.HTTPRoute {
		port := gatewayv1.PortNumber(80)
		return &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
				Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(host)},
				Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
					BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(svc), Port: &port}}}}}},
			}}
	}
	for _, r := range []*gatewayv1.HTTPRoute{route("web", "web.gateway.test", "web"), route("missing", "missing.gateway.test", "nosuch")} {
		if _, err := c.HTTPRoutes(ns).Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	m := startMoat(t, "moat-gateway", nil, ns)
	cl := m.client(nil)
	eventually(t, 10*time.Second, "the HTTPRoute served", serves(cl, "http://web.gateway.test/x", http.StatusOK, "web", nil))
	eventually(t, 10*time.Second, "the missing backend answered with 500", serves(cl, "http://missing.gateway.test/x", http.StatusInternalServerError, "", nil))

	cond := func(cs []metav1.Condition, typ, reason string, status metav1.ConditionStatus, gen int64) error {
		c := meta.FindStatusCondition(cs, typ)
		if c == nil || c.Reason != reason || c.Status != status || c.ObservedGeneration != gen {
			return fmt.Errorf("condition %s: %+v, want %s/%s at generation %d", typ, c, status, reason, gen)
		}
		return nil
	}
	eventually(t, 20*time.Second, "GatewayClass status", func() error {
		gc, err := c.GatewayClasses().Get(ctx, "moat", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(gc.Status.SupportedFeatures) == 0 {
			return fmt.Errorf("no supportedFeatures")
		}
		return cond(gc.Status.Conditions, "Accepted", "Accepted", metav1.ConditionTrue, gc.Generation)
	})
	eventually(t, 20*time.Second, "Gateway status", func() error {
		g, err := c.Gateways(ns).Get(ctx, "gw", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := cond(g.Status.Conditions, "Programmed", "Programmed", metav1.ConditionTrue, g.Generation); err != nil {
			return err
		}
		if len(g.Status.Listeners) != 1 || g.Status.Listeners[0].AttachedRoutes != 2 {
			return fmt.Errorf("listeners %+v, want one with 2 attached routes", g.Status.Listeners)
		}
		return cond(g.Status.Listeners[0].Conditions, "ResolvedRefs", "ResolvedRefs", metav1.ConditionTrue, g.Generation)
	})
	routeStatus := func(name, reason string, status metav1.ConditionStatus) func() error {
		return func() error {
			r, err := c.HTTPRoutes(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(r.Status.Parents) != 1 || r.Status.Parents[0].ControllerName != "moat.dev/gateway-controller" {
				return fmt.Errorf("parents %+v", r.Status.Parents)
			}
			ps := r.Status.Parents[0].Conditions
			if err := cond(ps, "Accepted", "Accepted", metav1.ConditionTrue, r.Generation); err != nil {
				return err
			}
			return cond(ps, "ResolvedRefs", reason, status, r.Generation)
		}
	}
	eventually(t, 20*time.Second, "HTTPRoute status", routeStatus("web", "ResolvedRefs", metav1.ConditionTrue))
	eventually(t, 20*time.Second, "HTTPRoute status naming the missing Service", routeStatus("missing", "BackendNotFound", metav1.ConditionFalse))

	// The diagnostic behind it is a Warning Event on the route.
	eventually(t, 20*time.Second, "a BackendNotFound Event on the route", func() error {
		evs, err := cp.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "HTTPRoute" && e.InvolvedObject.Name == "missing" && e.Reason == "BackendNotFound" && e.Type == "Warning" {
				return nil
			}
		}
		return fmt.Errorf("no such Event among %d", len(evs.Items))
	})

	// A spec change bumps the generation; the status follows it, and the
	// route serves the new Service.
	createService(t, ns, "nosuch", backend(t, "nosuch"))
	// moat writes the route's status as the Service appears, so the
	// update may meet a newer resourceVersion: retry on conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		r, err := c.HTTPRoutes(ns).Get(ctx, "missing", metav1.GetOptions{})
		if err != nil {
			return err
		}
		r.Spec.Hostnames = append(r.Spec.Hostnames, "found.gateway.test")
		_, err = c.HTTPRoutes(ns).Update(ctx, r, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the route's new host served", serves(cl, "http://found.gateway.test/x", http.StatusOK, "nosuch", nil))
	eventually(t, 20*time.Second, "HTTPRoute status at the new generation", routeStatus("missing", "ResolvedRefs", metav1.ConditionTrue))
}
