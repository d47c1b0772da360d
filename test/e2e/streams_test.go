package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
)

// TCP and UDP services (--tcp-services-configmap, --udp-services-configmap)
// through moat in file mode, over loopback sockets.

// tcpBackend answers every line "NAME: line". When proxy is set it first
// reads a PROXY protocol v1 line and sends it on headers.
type tcpBackend struct {
	addr    string
	headers chan string
}

func startTCPBackend(t *testing.T, name string, proxy bool) *tcpBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &tcpBackend{addr: ln.Addr().String(), headers: make(chan string, 16)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				go func() { <-t.Context().Done(); c.Close() }()
				r := bufio.NewReader(c)
				if proxy {
					h, err := r.ReadString('\n')
					if err != nil {
						return
					}
					b.headers <- h
				}
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := fmt.Fprintf(c, "%s: %s", name, line); err != nil {
						return
					}
				}
			})
		}
	})
	return b
}

// startUDPBackend answers every datagram with "NAME: datagram".
func startUDPBackend(t *testing.T, name string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte(name+": "), buf[:n]...), from)
		}
	}()
	return pc.LocalAddr().String()
}

// freePort returns a loopback port free for network now.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// streamService is a Service with one port 7000 (named echo, of proto)
// and one EndpointSlice per backend ("ip:port").
func streamService(ns, name, proto string, backends ...string) string {
	docs := []string{fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %s, namespace: %s}
spec:
  ports: [{name: echo, port: 7000, protocol: %s}]`, name, ns, proto)}
	for i, b := range backends {
		h, p, _ := net.SplitHostPort(b)
		docs = append(docs, fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[2]s-%[3]d, namespace: %[1]s, labels: {kubernetes.io/service-name: %[2]s}}
addressType: IPv4
ports: [{name: echo, port: %[4]s, protocol: %[5]s}]
endpoints: [{addresses: [%[6]q], conditions: {ready: true}}]`, ns, name, i, p, proto, h))
	}
	return join(docs...)
}

// servicesConfigMap is a tcp-services or udp-services ConfigMap; entries
// are key, value pairs.
func servicesConfigMap(name string, entries ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: ingress-nginx}\ndata:\n", name)
	if len(entries) == 0 {
		b.WriteString("  {}\n")
	}
	for i := 0; i+1 < len(entries); i += 2 {
		fmt.Fprintf(&b, "  %q: %q\n", entries[i], entries[i+1])
	}
	return b.String()
}

func withStreams(c *app.ServeConfig) {
	c.TCPServicesConfigMap = "ingress-nginx/tcp-services"
	c.UDPServicesConfigMap = "ingress-nginx/udp-services"
}

// streamConn is a client connection through moat's TCP port.
type streamConn struct {
	net.Conn
	r *bufio.Reader
}

func dialStream(port int) (*streamConn, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &streamConn{Conn: c, r: bufio.NewReader(c)}, nil
}

// say sends a line and returns the answer line.
func (c *streamConn) say(line string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	s, err := c.r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

// echoOnce dials moat's port, exchanges one line and hangs up.
func echoOnce(port int, line string) (string, error) {
	c, err := dialStream(port)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.say(line)
}

func udpOnce(port int, msg string) (string, error) {
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

func metricsText(t *testing.T, m *moat) string {
	t.Helper()
	resp, err := http.Get("http://" + m.addrs.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestStreamsEcho sends a TCP line and a UDP datagram through moat.
func TestStreamsEcho(t *testing.T) {
	dir := t.TempDir()
	tb := startTCPBackend(t, "tcp-a", false)
	ub := startUDPBackend(t, "udp-a")
	tport, uport := freePort(t, "tcp"), freePort(t, "udp")
	writeFile(t, dir, "s.yaml", join(streamService("apps", "tcp-echo", "TCP", tb.addr), streamService("apps", "udp-echo", "UDP", ub),
		servicesConfigMap("tcp-services", fmt.Sprint(tport), "apps/tcp-echo:7000"),
		servicesConfigMap("udp-services", fmt.Sprint(uport), "apps/udp-echo:echo")))
	m := startMoat(t, dir, withStreams)

	if got, err := echoOnce(tport, "hello"); err != nil || got != "tcp-a: hello" {
		t.Fatalf("TCP echo through moat: %q, %v", got, err)
	}
	// A connection carries many exchanges, both ways.
	c, err := dialStream(tport)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if got, err := c.say(fmt.Sprint("line ", i)); err != nil || got != fmt.Sprint("tcp-a: line ", i) {
			t.Fatalf("exchange %d: %q, %v", i, got, err)
		}
	}
	c.Close()
	for i := range 3 {
		if got, err := udpOnce(uport, fmt.Sprint("dgram ", i)); err != nil || got != fmt.Sprint("udp-a: dgram ", i) {
			t.Fatalf("UDP echo through moat: %q, %v", got, err)
		}
	}
	met := metricsText(t, m)
	for _, want := range []string{
		fmt.Sprintf(`moat_l4_connections_total{port="%d",protocol="TCP",service="apps/tcp-echo:7000"} 2`, tport),
		fmt.Sprintf(`moat_l4_connections_total{port="%d",protocol="UDP",service="apps/udp-echo:echo"} 3`, uport),
		fmt.Sprintf(`moat_l4_received_bytes_total{port="%d",protocol="UDP",service="apps/udp-echo:echo"} 21`, uport),
	} {
		if !strings.Contains(met, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestStreamsEndpointChange: an added endpoint gets new connections while
// an established connection to a kept endpoint goes on; then new
// connections go only to the endpoints left.
func TestStreamsEndpointChange(t *testing.T) {
	dir := t.TempDir()
	a, b := startTCPBackend(t, "a", false), startTCPBackend(t, "b", false)
	port := freePort(t, "tcp")
	cm := servicesConfigMap("tcp-services", fmt.Sprint(port), "apps/echo:echo")
	writeFile(t, dir, "cm.yaml", cm)
	writeFile(t, dir, "svc.yaml", streamService("apps", "echo", "TCP", a.addr))
	startMoat(t, dir, withStreams)

	held, err := dialStream(port)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if got, err := held.say("first"); err != nil || got != "a: first" {
		t.Fatalf("before the change: %q, %v", got, err)
	}

	writeFile(t, dir, "svc.yaml", streamService("apps", "echo", "TCP", a.addr, b.addr))
	eventually(t, 5*time.Second, "a new connection reaching the added endpoint b", func() bool {
		got, _ := echoOnce(port, "new")
		return got == "b: new"
	})
	if got, err := held.say("second"); err != nil || got != "a: second" {
		t.Fatalf("the established connection to the kept endpoint after the change: %q, %v", got, err)
	}

	writeFile(t, dir, "svc.yaml", streamService("apps", "echo", "TCP", b.addr))
	eventually(t, 5*time.Second, "endpoint a withdrawn", func() bool {
		for range 4 {
			if got, _ := echoOnce(port, "x"); got != "b: x" {
				return false
			}
		}
		return true
	})
}

// TestStreamsUDPEndpointChange: a UDP service's endpoint moves live; with
// proxy-stream-responses 1 every query is a session of its own, so the
// next one already goes to the new endpoint.
func TestStreamsUDPEndpointChange(t *testing.T) {
	dir := t.TempDir()
	a, b := startUDPBackend(t, "a"), startUDPBackend(t, "b")
	port := freePort(t, "udp")
	writeFile(t, dir, "cm.yaml", servicesConfigMap("udp-services", fmt.Sprint(port), "apps/dns:echo"))
	writeFile(t, dir, "svc.yaml", streamService("apps", "dns", "UDP", a))
	startMoat(t, dir, withStreams)
	if got, err := udpOnce(port, "q"); err != nil || got != "a: q" {
		t.Fatalf("before the change: %q, %v", got, err)
	}
	writeFile(t, dir, "svc.yaml", streamService("apps", "dns", "UDP", b))
	eventually(t, 5*time.Second, "queries answered by the new endpoint", func() bool {
		got, _ := udpOnce(port, "q")
		return got == "b: q"
	})
}

// TestStreamsPortsFollowTheConfigMap: a removed entry stops listening (an
// established connection goes on), an added one starts.
func TestStreamsPortsFollowTheConfigMap(t *testing.T) {
	dir := t.TempDir()
	be := startTCPBackend(t, "a", false)
	p1, p2 := freePort(t, "tcp"), freePort(t, "tcp")
	writeFile(t, dir, "svc.yaml", streamService("apps", "echo", "TCP", be.addr))
	writeFile(t, dir, "cm.yaml", servicesConfigMap("tcp-services", fmt.Sprint(p1), "apps/echo:7000"))
	startMoat(t, dir, withStreams)

	held, err := dialStream(p1)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if got, err := held.say("one"); err != nil || got != "a: one" {
		t.Fatalf("port %d: %q, %v", p1, got, err)
	}
	writeFile(t, dir, "cm.yaml", servicesConfigMap("tcp-services", fmt.Sprint(p2), "apps/echo:7000"))
	eventually(t, 5*time.Second, "the new port answering", func() bool {
		got, _ := echoOnce(p2, "two")
		return got == "a: two"
	})
	eventually(t, 5*time.Second, "the removed port refusing connections", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p1), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if got, err := held.say("still"); err != nil || got != "a: still" {
		t.Fatalf("the connection made before the port was removed: %q, %v", got, err)
	}
}

// TestStreamsBadEntries: each bad entry gets a diagnostic naming the
// ConfigMap and the key, and the good entry serves.
func TestStreamsBadEntries(t *testing.T) {
	dir := t.TempDir()
	be := startTCPBackend(t, "good", false)
	good := freePort(t, "tcp")
	writeFile(t, dir, "svc.yaml", streamService("apps", "echo", "TCP", be.addr))
	writeFile(t, dir, "cm.yaml", servicesConfigMap("tcp-services", fmt.Sprint(good), "apps/echo:7000"))
	m := startMoat(t, dir, withStreams)
	_, httpPort, _ := net.SplitHostPort(m.addrs.HTTP)
	writeFile(t, dir, "cm.yaml", servicesConfigMap("tcp-services",
		fmt.Sprint(good), "apps/echo:7000",
		"99999", "apps/echo:7000",
		"7001", "apps/missing:7000",
		"7002", "apps/echo:nosuchport",
		httpPort, "apps/echo:7000",
		"7003", "apps-echo-7000",
	))
	want := map[string]string{
		"data.99999":       "StreamPortInvalid",
		"data.7001":        "StreamServiceNotFound",
		"data.7002":        "StreamServicePortNotFound",
		"data." + httpPort: "StreamPortReserved",
		"data.7003":        "StreamEntryInvalid",
	}
	eventually(t, 5*time.Second, "a diagnostic per bad entry", func() bool {
		d := m.diagnostics(t)
		for field, reason := range want {
			if !strings.Contains(d, `"reason": "`+reason+`"`) || !strings.Contains(d, `"field": "`+field+`"`) {
				return false
			}
		}
		return strings.Contains(d, "tcp-services")
	})
	if got, err := echoOnce(good, "ok"); err != nil || got != "good: ok" {
		t.Fatalf("the good entry next to bad ones: %q, %v", got, err)
	}
	// The reserved port is still moat's HTTP listener.
	resp, err := http.Get("http://" + m.addrs.HTTP + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HTTP listener answered %d, want moat's 404", resp.StatusCode)
	}
}

// TestStreamsProxyProtocol: the second :PROXY sends a v1 header with the
// client's address to the upstream; the first makes moat require one from
// the client, closing connections without it before any upstream sees
// them.
func TestStreamsProxyProtocol(t *testing.T) {
	dir := t.TempDir()
	be := startTCPBackend(t, "pp", true)
	enc, both := freePort(t, "tcp"), freePort(t, "tcp")
	writeFile(t, dir, "svc.yaml", streamService("apps", "pp", "TCP", be.addr))
	writeFile(t, dir, "cm.yaml", servicesConfigMap("tcp-services",
		fmt.Sprint(enc), "apps/pp:7000::PROXY",
		fmt.Sprint(both), "apps/pp:echo:PROXY:PROXY"))
	m := startMoat(t, dir, withStreams)

	c, err := dialStream(enc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.say("hi"); err != nil || got != "pp: hi" {
		t.Fatalf("through the encoding port: %q, %v", got, err)
	}
	cl := c.LocalAddr().(*net.TCPAddr)
	want := fmt.Sprintf("PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n", cl.Port, enc)
	if h := <-be.headers; h != want {
		t.Fatalf("backend got header %q, want %q", h, want)
	}

	// A client that sends a header: the data after it flows; the header
	// moat sends upstream names the connection's peer, as nginx without
	// the realip module (ingress-nginx's enable-real-ip false).
	d, err := dialStream(both)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := io.WriteString(d, "PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.say("after header"); err != nil || got != "pp: after header" {
		t.Fatalf("through the decoding port: %q, %v", got, err)
	}
	dl := d.LocalAddr().(*net.TCPAddr)
	if h, want := <-be.headers, fmt.Sprintf("PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n", dl.Port, both); h != want {
		t.Fatalf("backend got header %q, want %q", h, want)
	}

	// Without a header: closed, counted, and nothing reaches the backend.
	e, err := dialStream(both)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got, err := e.say("no header here"); err == nil {
		t.Fatalf("a connection without a PROXY header got an answer %q", got)
	}
	select {
	case h := <-be.headers:
		t.Fatalf("the backend saw a connection without a client header: %q", h)
	case <-time.After(100 * time.Millisecond):
	}
	if met := metricsText(t, m); !strings.Contains(met, fmt.Sprintf(`moat_l4_proxy_protocol_errors_total{port="%d",protocol="TCP",service="apps/pp:echo"} 1`, both)) {
		t.Errorf("moat_l4_proxy_protocol_errors_total not counted:\n%s", grepLines(met, "moat_l4_proxy"))
	}
}

// TestStreamsDrain: on shutdown the stream ports stop accepting at once
// while an established connection goes on until it ends, within the
// drain timeout.
func TestStreamsDrain(t *testing.T) {
	dir := t.TempDir()
	be := startTCPBackend(t, "a", false)
	port := freePort(t, "tcp")
	writeFile(t, dir, "s.yaml", join(streamService("apps", "echo", "TCP", be.addr), servicesConfigMap("tcp-services", fmt.Sprint(port), "apps/echo:7000")))
	logs := &syncBuffer{}
	ready := make(chan app.Addrs, 1)
	c := app.ServeConfig{
		Manifests: []string{dir}, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		IngressClass: "moat", Log: slog.New(slog.NewJSONHandler(logs, nil)), Ready: func(a app.Addrs) { ready <- a },
		Lifecycle: app.Lifecycle{ShutdownTimeout: 10 * time.Second},
	}
	withStreams(&c)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, c) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("not ready")
	}
	held, err := dialStream(port)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := held.say("before"); err != nil || got != "a: before" {
		t.Fatalf("before shutdown: %q, %v", got, err)
	}
	cancel(app.ErrInterrupted)
	waitLog(t, logs, "shutdown: listeners closed")
	eventually(t, 5*time.Second, "the stream port closed", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if got, err := held.say("during drain"); err != nil || got != "a: during drain" {
		t.Fatalf("the established connection during the drain: %q, %v", got, err)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) while a stream connection was open", err)
	case <-time.After(100 * time.Millisecond):
	}
	held.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Serve did not return after the last stream connection closed\n%s", logs.String())
	}
}
