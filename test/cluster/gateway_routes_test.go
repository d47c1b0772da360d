package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// TestGatewayAPIRouteKinds: moat watches GRPCRoutes and TLSRoutes (CRDs
// of the standard channel) and the leader writes their status: listener
// supportedKinds and attachedRoutes per protocol, and each route's
// parent conditions with the specification's reasons.
func TestGatewayAPIRouteKinds(t *testing.T) {
	ns := namespace(t, "gwkinds")
	ctx := context.Background()
	gw, err := gatewayclient.NewForConfig(cp.admin)
	if err != nil {
		t.Fatal(err)
	}
	c := gw.GatewayV1()
	createService(t, ns, "web", backend(t, "web"))
	class := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat-kinds"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"}}
	if _, err := c.GatewayClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.GatewayClasses().Delete(context.Background(), "moat-kinds", metav1.DeleteOptions{}) })
	pass := gatewayv1.TLSModePassthrough
	host := gatewayv1.Hostname("*.tls.test")
	gateway := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: ns},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat-kinds", Listeners: []gatewayv1.Listener{
			{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
			{Name: "tls", Protocol: gatewayv1.TLSProtocolType, Port: 443, Hostname: &host, TLS: &gatewayv1.ListenerTLSConfig{Mode: &pass}},
		}}}
	if _, err := c.Gateways(ns).Create(ctx, gateway, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := gatewayv1.PortNumber(80)
	ref := func(svc string) gatewayv1.BackendRef {
		return gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(svc), Port: &port}}
	}
	svcName := "grpc.health.v1.Health"
	grpcRoute := &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Name: "rpc", Namespace: ns},
		Spec: gatewayv1.GRPCRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"rpc.gateway.test"},
			Rules: []gatewayv1.GRPCRouteRule{{
				Matches:     []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Service: &svcName}}},
				BackendRefs: []gatewayv1.GRPCBackendRef{{BackendRef: ref("web")}}}},
		}}
	if _, err := c.GRPCRoutes(ns).Create(ctx, grpcRoute, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tlsRoute := &gatewayv1.TLSRoute{ObjectMeta: metav1.ObjectMeta{Name: "pass", Namespace: ns},
		Spec: gatewayv1.TLSRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"a.tls.test"},
			Rules:           []gatewayv1.TLSRouteRule{{BackendRefs: []gatewayv1.BackendRef{ref("nosuch")}}},
		}}
	if _, err := c.TLSRoutes(ns).Create(ctx, tlsRoute, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	startMoat(t, "moat-gwkinds", nil, ns)
	cond := func(cs []metav1.Condition, typ, reason string, status metav1.ConditionStatus, gen int64) error {
		c := meta.FindStatusCondition(cs, typ)
		if c == nil || c.Reason != reason || c.Status != status || c.ObservedGeneration != gen {
			return fmt.Errorf("condition %s: %+v, want %s/%s at generation %d", typ, c, status, reason, gen)
		}
		return nil
	}
	eventually(t, 20*time.Second, "Gateway listener status per protocol", func() error {
		g, err := c.Gateways(ns).Get(ctx, "gw", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(g.Status.Listeners) != 2 {
			return fmt.Errorf("listeners %+v", g.Status.Listeners)
		}
		for i, want := range [][]string{{"HTTPRoute", "GRPCRoute"}, {"TLSRoute"}} {
			l := g.Status.Listeners[i]
			var kinds []string
			for _, k := range l.SupportedKinds {
				kinds = append(kinds, string(k.Kind))
			}
			if fmt.Sprint(kinds) != fmt.Sprint(want) || l.AttachedRoutes != 1 {
				return fmt.Errorf("listener %s: kinds %v attached %d, want %v and 1", l.Name, kinds, l.AttachedRoutes, want)
			}
			if err := cond(l.Conditions, "Programmed", "Programmed", metav1.ConditionTrue, g.Generation); err != nil {
				return err
			}
		}
		return nil
	})
	eventually(t, 20*time.Second, "GRPCRoute status", func() error {
		r, err := c.GRPCRoutes(ns).Get(ctx, "rpc", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(r.Status.Parents) != 1 {
			return fmt.Errorf("parents %+v", r.Status.Parents)
		}
		ps := r.Status.Parents[0].Conditions
		if err := cond(ps, "Accepted", "Accepted", metav1.ConditionTrue, r.Generation); err != nil {
			return err
		}
		return cond(ps, "ResolvedRefs", "ResolvedRefs", metav1.ConditionTrue, r.Generation)
	})
	eventually(t, 20*time.Second, "TLSRoute status naming the missing Service", func() error {
		r, err := c.TLSRoutes(ns).Get(ctx, "pass", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(r.Status.Parents) != 1 {
			return fmt.Errorf("parents %+v", r.Status.Parents)
		}
		ps := r.Status.Parents[0].Conditions
		if err := cond(ps, "Accepted", "Accepted", metav1.ConditionTrue, r.Generation); err != nil {
			return err
		}
		return cond(ps, "ResolvedRefs", "BackendNotFound", metav1.ConditionFalse, r.Generation)
	})
}
