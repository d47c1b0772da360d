package dataplane

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/echo"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// freeAddr is a port free on ip now (loopback; nothing else binds there).
func freeAddr(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func gwListener(ip string, port int, vhs ...*routecfg.VirtualHost) *routecfg.Listener {
	return &routecfg.Listener{Address: ip, Port: port, VirtualHosts: vhs, Gateway: "ns/gw"}
}

// clientTo sends every request to addr and reports whether each reused a
// connection.
func clientTo(addr string) (*http.Client, *bool) {
	reused := new(bool)
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	c := &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { *reused = i.Reused }}))
		return tr.RoundTrip(r)
	})}
	return c, reused
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A Gateway socket opens with the configuration that names it, keeps its
// connections while it stays, drains a request in flight when it goes,
// and a bad set of sockets is refused whole.
func TestGatewaySocketLifecycle(t *testing.T) {
	ip := fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(100), rand.IntN(250), 1+rand.IntN(250))
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		echo.Handler("slow").ServeHTTP(w, r)
	}))
	defer slow.Close()
	defer close(release)
	pools := []*routecfg.Pool{pool("a", echoBackend(t, "a")), pool("slow", slow.Listener.Addr().String())}
	vh := &routecfg.VirtualHost{Host: "gw.example", Routes: []*routecfg.Route{prefix("/slow", "slow"), prefix("/", "a")}}
	p1, p2 := freeAddr(t, ip), freeAddr(t, ip)
	cfg1 := config(pools)
	cfg1.Listeners = []*routecfg.Listener{gwListener(ip, p1, vh)}
	r := start(t, cfg1)

	c1, reused := clientTo(net.JoinHostPort(ip, strconv.Itoa(p1)))
	defer c1.CloseIdleConnections()
	if resp, body := do(t, c1, "GET", "http://gw.example/x"); resp.StatusCode != 200 || echoResp(t, body).Name != "a" {
		t.Fatalf("gateway socket: %d %s", resp.StatusCode, body)
	}
	// The shared listener does not serve the Gateway's host.
	if resp, _ := do(t, r.client(false), "GET", "http://gw.example/x"); resp.StatusCode != 404 {
		t.Fatalf("shared listener answered %d for a Gateway socket's host", resp.StatusCode)
	}

	// A second socket: the first is kept, connection and all.
	cfg2 := config(pools)
	cfg2.Listeners = []*routecfg.Listener{gwListener(ip, p1, vh), gwListener(ip, p2, vh)}
	if err := r.dp.Apply(cfg2); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, c1, "GET", "http://gw.example/x"); resp.StatusCode != 200 || !*reused {
		t.Fatalf("after adding a socket: status %d, connection reused %v; want 200 on the same connection", resp.StatusCode, *reused)
	}
	c2, _ := clientTo(net.JoinHostPort(ip, strconv.Itoa(p2)))
	defer c2.CloseIdleConnections()
	if resp, body := do(t, c2, "GET", "http://gw.example/x"); resp.StatusCode != 200 || echoResp(t, body).Name != "a" {
		t.Fatalf("added socket: %d %s", resp.StatusCode, body)
	}
	if got := r.dp.GatewayListeners(); len(got) != 2 {
		t.Fatalf("open sockets %q", got)
	}

	// A request in flight on the second socket finishes after the socket
	// is dropped; new connections are refused.
	inflight := make(chan int, 1)
	go func() {
		resp, err := c2.Get("http://gw.example/slow")
		if err != nil {
			inflight <- 0
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	<-arrived
	if err := r.dp.Apply(cfg1); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(p2)), time.Second); err == nil {
		c.Close()
		t.Fatal("a dropped socket still accepts connections")
	}
	release <- struct{}{}
	if code := <-inflight; code != 200 {
		t.Fatalf("request in flight on a dropped socket: status %d, want 200", code)
	}

	// Invalid socket sets are refused and the last good one keeps serving.
	for name, ls := range map[string][]*routecfg.Listener{
		"twice":        {gwListener(ip, p1, vh), gwListener(ip, p1, vh)},
		"not an IP":    {gwListener("gw.example", p1, vh)},
		"unknown pool": {gwListener(ip, p1, &routecfg.VirtualHost{Host: "x.example", Routes: []*routecfg.Route{prefix("/", "nosuch")}})},
	} {
		bad := config(pools)
		bad.Listeners = ls
		if err := r.dp.Apply(bad); err == nil {
			t.Errorf("%s: config accepted", name)
		}
	}
	if resp, _ := do(t, c1, "GET", "http://gw.example/x"); resp.StatusCode != 200 {
		t.Fatalf("after refused configs: %d", resp.StatusCode)
	}

	// A port that is taken: reported, the other socket still serves, and
	// the next configuration binds it once it is free.
	busy, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	bp := busy.Addr().(*net.TCPAddr).Port
	cfg3 := config(pools)
	cfg3.Listeners = []*routecfg.Listener{gwListener(ip, p1, vh), gwListener(ip, bp, vh)}
	if err := r.dp.Apply(cfg3); err != nil {
		t.Fatal(err)
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(bp))
	if r.dp.ListenerError(ap) == nil {
		t.Fatal("no error for a port in use")
	}
	if err := r.dp.ListenerError(netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(p1))); err != nil {
		t.Fatalf("error for the open socket: %v", err)
	}
	if resp, _ := do(t, c1, "GET", "http://gw.example/x"); resp.StatusCode != 200 {
		t.Fatalf("other socket: %d", resp.StatusCode)
	}
	busy.Close()
	if err := r.dp.Apply(config(pools)); err != nil { // any new configuration retries
		t.Fatal(err)
	}
	if err := r.dp.Apply(cfg3); err != nil {
		t.Fatal(err)
	}
	if err := r.dp.ListenerError(ap); err != nil {
		t.Fatalf("after the port was freed: %v", err)
	}
	cb, _ := clientTo(ap.String())
	defer cb.CloseIdleConnections()
	if resp, _ := do(t, cb, "GET", "http://gw.example/x"); resp.StatusCode != 200 {
		t.Fatalf("socket bound on retry: %d", resp.StatusCode)
	}
}
