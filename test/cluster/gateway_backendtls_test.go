package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/moat-ingress/moat/internal/echo"
)

// tlsBackend runs an echo backend over TLS on a fresh backend IP.
func tlsBackend(t *testing.T, name string, cert tls.Certificate) string {
	t.Helper()
	ip := fmt.Sprintf("10.244.0.%d", 10+nextBackendIP.Add(1))
	ln, err := tls.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(echoPort)), &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatalf("tls echo listen on %s: %v", ip, err)
	}
	srv := &http.Server{Handler: echo.Handler(name), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ip
}

// TestGatewayAPIBackendTLSPolicy: moat watches BackendTLSPolicies and the
// ConfigMaps their caCertificateRefs name, and the leader writes the
// policy's ancestor status. A policy whose ConfigMap is missing is
// NoValidCACertificate and its backend answers 5xx; once the ConfigMap
// appears the policy is accepted and the route reaches the backend over
// verified TLS.
func TestGatewayAPIBackendTLSPolicy(t *testing.T) {
	ns := namespace(t, "gwbtls")
	ctx := context.Background()
	gw, err := gatewayclient.NewForConfig(cp.admin)
	if err != nil {
		t.Fatal(err)
	}
	c := gw.GatewayV1()
	ca := newCA(t)
	crt, key, _ := ca.issue(t, "web.internal")
	cert, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	createService(t, ns, "web", tlsBackend(t, "tls-web", cert))
	class := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat-btls"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"}}
	if _, err := c.GatewayClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.GatewayClasses().Delete(context.Background(), "moat-btls", metav1.DeleteOptions{}) })
	gateway := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: ns},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat-btls", Listeners: []gatewayv1.Listener{
			{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80}}}}
	if _, err := c.Gateways(ns).Create(ctx, gateway, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := gatewayv1.PortNumber(80)
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: ns},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"btls.gateway.test"},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: &port}}}}}},
		}}
	if _, err := c.HTTPRoutes(ns).Create(ctx, route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	policy := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Name: "web-tls", Namespace: ns},
		Spec: gatewayv1.BackendTLSPolicySpec{
			TargetRefs: []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{
				Group: "", Kind: "Service", Name: "web"}}},
			Validation: gatewayv1.BackendTLSPolicyValidation{
				CACertificateRefs: []gatewayv1.LocalObjectReference{{Group: "", Kind: "ConfigMap", Name: "web-ca"}},
				Hostname:          "web.internal"},
		}}
	if _, err := c.BackendTLSPolicies(ns).Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	m := startMoat(t, "moat-gwbtls", nil, ns)
	status := func(accepted, resolved string) func() error {
		return func() error {
			p, err := c.BackendTLSPolicies(ns).Get(ctx, "web-tls", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(p.Status.Ancestors) != 1 || p.Status.Ancestors[0].AncestorRef.Name != "gw" ||
				p.Status.Ancestors[0].ControllerName != "moat.dev/gateway-controller" {
				return fmt.Errorf("ancestors %+v", p.Status.Ancestors)
			}
			cs := p.Status.Ancestors[0].Conditions
			for typ, reason := range map[string]string{"Accepted": accepted, "ResolvedRefs": resolved} {
				c := meta.FindStatusCondition(cs, typ)
				want := metav1.ConditionFalse
				if reason == typ {
					want = metav1.ConditionTrue
				}
				if c == nil || c.Reason != reason || c.Status != want || c.ObservedGeneration != p.Generation {
					return fmt.Errorf("condition %s: %+v, want %s/%s", typ, c, want, reason)
				}
			}
			return nil
		}
	}
	hc := m.client(nil)
	answers := func(want int) func() error {
		return func() error {
			r, err := get(hc, "http://btls.gateway.test/")
			if err != nil {
				return err
			}
			if r.status != want || (want == 200 && r.backend != "tls-web") {
				return fmt.Errorf("status %d backend %q, want %d", r.status, r.backend, want)
			}
			return nil
		}
	}
	eventually(t, 20*time.Second, "policy without its ConfigMap: NoValidCACertificate", status("NoValidCACertificate", "InvalidCACertificateRef"))
	eventually(t, 20*time.Second, "backend refused without a CA", answers(502))

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-ca", Namespace: ns}, Data: map[string]string{"ca.crt": string(ca.PEM())}}
	if _, err := cp.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "policy accepted once its ConfigMap exists", status("Accepted", "ResolvedRefs"))
	eventually(t, 20*time.Second, "backend reached over verified TLS", answers(200))
}
