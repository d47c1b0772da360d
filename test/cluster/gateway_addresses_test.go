package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/moat-ingress/moat/internal/app"
)

// TestGatewayAPIAddresses: with --gateway-address-pool the leader
// publishes each Gateway's own address in status.addresses (a requested
// one, or one from the pool that the next replica keeps), the routes are
// served there, and a listener whose port cannot be bound is written
// Programmed=False while the Gateway's other listener serves.
func TestGatewayAPIAddresses(t *testing.T) {
	ns := namespace(t, "gwaddr")
	ctx := context.Background()
	gwc, err := gatewayclient.NewForConfig(cp.admin)
	if err != nil {
		t.Fatal(err)
	}
	c := gwc.GatewayV1()
	createService(t, ns, "web", backend(t, "web"))

	// A /24 of 127/8 (all loopback) of this run's own.
	netw := fmt.Sprintf("127.%d.%d", 100+rand.IntN(100), rand.IntN(250))
	pool := netip.MustParsePrefix(netw + ".0/24")
	static := netw + ".10"
	port := 20000 + rand.IntN(20000)
	busy, err := net.Listen("tcp", net.JoinHostPort(static, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	const class = "moat-addresses"
	gc := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: class},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"}}
	if _, err := c.GatewayClasses().Create(ctx, gc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.GatewayClasses().Delete(context.Background(), class, metav1.DeleteOptions{}) })
	listener := func(name string, p int) gatewayv1.Listener {
		return gatewayv1.Listener{Name: gatewayv1.SectionName(name), Protocol: gatewayv1.HTTPProtocolType, Port: gatewayv1.PortNumber(p)}
	}
	ipType := gatewayv1.IPAddressType
	gws := []*gatewayv1.Gateway{
		{ObjectMeta: metav1.ObjectMeta{Name: "static", Namespace: ns}, Spec: gatewayv1.GatewaySpec{GatewayClassName: class,
			Addresses: []gatewayv1.GatewaySpecAddress{{Type: &ipType, Value: static}},
			Listeners: []gatewayv1.Listener{listener("http", port), listener("busy", busyPort)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "auto", Namespace: ns}, Spec: gatewayv1.GatewaySpec{GatewayClassName: class,
			Listeners: []gatewayv1.Listener{listener("http", port)}}},
	}
	svcPort := gatewayv1.PortNumber(80)
	for _, gw := range gws {
		if _, err := c.Gateways(ns).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		hr := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: gw.Name, Namespace: ns},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: gatewayv1.ObjectName(gw.Name), SectionName: ptrTo(gatewayv1.SectionName("http"))}}},
				Hostnames:       []gatewayv1.Hostname{"addr.gateway.test"},
				Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
					BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: &svcPort}}}}}},
			}}
		if _, err := c.HTTPRoutes(ns).Create(ctx, hr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	withPool := func(cc *app.ControllerConfig) { cc.GatewayAddressPool = pool.String() }
	m := startMoat(t, "moat-gwaddr", withPool, ns)

	address := func(name string) (string, error) {
		g, err := c.Gateways(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if len(g.Status.Addresses) != 1 || g.Status.Addresses[0].Type == nil || *g.Status.Addresses[0].Type != gatewayv1.IPAddressType {
			return "", fmt.Errorf("gateway %s: status.addresses %+v, want one IPAddress", name, g.Status.Addresses)
		}
		return g.Status.Addresses[0].Value, nil
	}
	eventually(t, 20*time.Second, "the requested address published", func() error {
		a, err := address("static")
		if err == nil && a != static {
			err = fmt.Errorf("static: address %s, want %s", a, static)
		}
		return err
	})
	var auto string
	eventually(t, 20*time.Second, "an address of the pool published", func() error {
		a, err := address("auto")
		if err != nil {
			return err
		}
		if ip, perr := netip.ParseAddr(a); perr != nil || !pool.Contains(ip) || a == static {
			return fmt.Errorf("auto: address %s, want another one of %s", a, pool)
		}
		auto = a
		return nil
	})
	plain := func(addr string) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}}}
	}
	for _, a := range []string{static, auto} {
		hp := net.JoinHostPort(a, strconv.Itoa(port))
		eventually(t, 10*time.Second, "the route served on "+hp, serves(plain(hp), "http://addr.gateway.test/x", http.StatusOK, "web", nil))
	}
	// Not on the shared listener: no Gateway of the pool is served there.
	eventually(t, 10*time.Second, "no route on the shared listener", serves(m.client(nil), "http://addr.gateway.test/x", http.StatusNotFound, "", nil))

	eventually(t, 20*time.Second, "the busy listener Programmed=False, the other True", func() error {
		g, err := c.Gateways(ns).Get(ctx, "static", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, l := range g.Status.Listeners {
			p := meta.FindStatusCondition(l.Conditions, "Programmed")
			want := metav1.ConditionTrue
			if l.Name == "busy" {
				want = metav1.ConditionFalse
			}
			if p == nil || p.Status != want || (want == metav1.ConditionFalse && p.Reason != "Pending") {
				return fmt.Errorf("listener %s: Programmed %+v, want %s", l.Name, p, want)
			}
		}
		if len(g.Status.Listeners) != 2 {
			return fmt.Errorf("listeners %+v", g.Status.Listeners)
		}
		return nil
	})

	// The next replica keeps the published address.
	m.stop(t)
	startMoat(t, "moat-gwaddr-2", withPool, ns)
	hp := net.JoinHostPort(auto, strconv.Itoa(port))
	eventually(t, 20*time.Second, "the route served again on "+hp, serves(plain(hp), "http://addr.gateway.test/x", http.StatusOK, "web", nil))
	if a, err := address("auto"); err != nil || a != auto {
		t.Fatalf("after a restart: address %q (%v), want %s", a, err, auto)
	}
}

func ptrTo[T any](v T) *T { return &v }
