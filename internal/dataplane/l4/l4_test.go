package l4

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Unit tests over loopback sockets; test/e2e runs the same through moat.

func settings() routecfg.StreamSettings {
	return routecfg.StreamSettings{Timeout: 10 * time.Second, NextUpstream: true, NextUpstreamTries: 3, NextUpstreamTimeout: 10 * time.Second, Responses: 1}
}

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

// serve starts a Server for one stream to eps and returns it with the
// stream's port.
func serve(t *testing.T, proto routecfg.StreamProtocol, st routecfg.StreamSettings, eps ...string) (*Server, int) {
	t.Helper()
	s := New(Options{Host: "127.0.0.1", Registerer: prometheus.NewRegistry(), ConnectTimeout: 2 * time.Second})
	port := freePort(t, strings.ToLower(string(proto)))
	pool := &routecfg.Pool{Key: "p"}
	for _, e := range eps {
		pool.Endpoints = append(pool.Endpoints, routecfg.Endpoint{Address: e})
	}
	cfg := &routecfg.Config{Pools: map[string]*routecfg.Pool{"p": pool},
		Streams: []*routecfg.Stream{{Protocol: proto, Port: port, Pool: "p", Service: "ns/svc:1", Settings: st}}}
	if err := Validate(cfg); err != nil {
		t.Fatal(err)
	}
	s.Apply(cfg)
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.Drain(ctx)
	})
	return s, port
}

// tcpNamed accepts connections and writes name, then echoes.
func tcpNamed(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.WriteString(c, name+"\n")
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func deadAddr(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(freePort(t, "tcp"))
}

func greeting(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// A refused endpoint is skipped: every connection reaches the live one,
// and the failures are counted.
func TestTCPSkipsDeadEndpoint(t *testing.T) {
	live := tcpNamed(t, "live")
	s, port := serve(t, routecfg.StreamTCP, settings(), deadAddr(t), live)
	for i := range 4 {
		if got := greeting(t, port); got != "live" {
			t.Fatalf("connection %d reached %q", i, got)
		}
	}
	if n := testutil.ToFloat64(s.m.connectErrors.WithLabelValues("TCP", strconv.Itoa(port), "ns/svc:1")); n < 1 {
		t.Fatalf("connect errors %v, want the dead endpoint's failures counted", n)
	}

	// Without proxy-stream-next-upstream a connection that drew the dead
	// endpoint is closed.
	st := settings()
	st.NextUpstream = false
	_, port = serve(t, routecfg.StreamTCP, st, deadAddr(t), live)
	got := map[string]int{}
	for range 4 {
		got[greeting(t, port)]++
	}
	if got["live"] != 2 || got[""] != 2 {
		t.Fatalf("round robin without next upstream: %v, want 2 live and 2 closed", got)
	}
}

// Round robin across endpoints, in order.
func TestTCPRoundRobin(t *testing.T) {
	a, b := tcpNamed(t, "a"), tcpNamed(t, "b")
	_, port := serve(t, routecfg.StreamTCP, settings(), a, b)
	var seq []string
	for range 4 {
		seq = append(seq, greeting(t, port))
	}
	if s := strings.Join(seq, ""); s != "abab" && s != "baba" {
		t.Fatalf("sequence %q, want alternation", s)
	}
}

// proxy-stream-timeout closes a connection idle both ways.
func TestTCPIdleTimeout(t *testing.T) {
	st := settings()
	st.Timeout = 200 * time.Millisecond
	s, port := serve(t, routecfg.StreamTCP, st, tcpNamed(t, "a"))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c) // the greeting, then EOF when moat closes
	if err != nil || string(b) != "a\n" {
		t.Fatalf("read %q, %v; want the greeting, then the close of an idle connection", b, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Active() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still tracked after the close", s.Active())
		}
		time.Sleep(time.Millisecond)
	}
}

// udpNamed answers each datagram with name:datagram, times times.
func udpNamed(t *testing.T, name string, times int) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for range times {
				_, _ = pc.WriteTo(append([]byte(name+":"), buf[:n]...), from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func readDatagram(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// proxy-stream-responses 1 (the default): a session ends with its answer,
// so one client's next datagram opens a session to the next endpoint.
func TestUDPSessionEndsAfterResponses(t *testing.T) {
	s, port := serve(t, routecfg.StreamUDP, settings(), udpNamed(t, "a", 1), udpNamed(t, "b", 1))
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []string
	for i := range 4 {
		if _, err := fmt.Fprintf(c, "q%d", i); err != nil {
			t.Fatal(err)
		}
		got = append(got, readDatagram(t, c))
		// The session ends once the reply is relayed; wait for that
		// before the next query, which must open a new one.
		deadline := time.Now().Add(2 * time.Second)
		for testutil.ToFloat64(s.m.active.WithLabelValues("UDP", strconv.Itoa(port), "ns/svc:1")) != 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	first := got[0][:1]
	other := map[string]string{"a": "b", "b": "a"}[first]
	want := []string{first + ":q0", other + ":q1", first + ":q2", other + ":q3"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("answers %v, want %v (a new session, round robin, per query)", got, want)
	}
	if n := testutil.ToFloat64(s.m.total.WithLabelValues("UDP", strconv.Itoa(port), "ns/svc:1")); n != 4 {
		t.Fatalf("%v sessions counted, want 4", n)
	}
}

// With more responses allowed, every answer datagram reaches the client
// and the session stays with its endpoint until the idle timeout.
func TestUDPSessionKeepsEndpointAndTimesOut(t *testing.T) {
	st := settings()
	st.Responses = 10
	st.Timeout = 200 * time.Millisecond
	s, port := serve(t, routecfg.StreamUDP, st, udpNamed(t, "a", 2), udpNamed(t, "b", 2))
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []string
	for i := range 2 {
		fmt.Fprintf(c, "q%d", i)
		got = append(got, readDatagram(t, c), readDatagram(t, c))
	}
	e := got[0][:1]
	if want := []string{e + ":q0", e + ":q0", e + ":q1", e + ":q1"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("answers %v, want %v", got, want)
	}
	active := s.m.active.WithLabelValues("UDP", strconv.Itoa(port), "ns/svc:1")
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(active) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle session was not closed after proxy-stream-timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Apply updates a running port's endpoints without closing it, and a
// port dropped from the config stops listening.
func TestApplyUpdatesAndCloses(t *testing.T) {
	a, b := tcpNamed(t, "a"), tcpNamed(t, "b")
	s, port := serve(t, routecfg.StreamTCP, settings(), a)
	if got := greeting(t, port); got != "a" {
		t.Fatalf("got %q", got)
	}
	cfg := &routecfg.Config{Pools: map[string]*routecfg.Pool{"p": {Key: "p", Endpoints: []routecfg.Endpoint{{Address: b}}}},
		Streams: []*routecfg.Stream{{Protocol: routecfg.StreamTCP, Port: port, Pool: "p", Service: "ns/svc:1", Settings: settings()}}}
	s.Apply(cfg)
	if got := greeting(t, port); got != "b" {
		t.Fatalf("after the endpoint change got %q", got)
	}
	s.Apply(&routecfg.Config{})
	if ports := s.Ports(); len(ports) != 0 {
		t.Fatalf("ports %v still open", ports)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Fatal("the dropped port still accepts")
	}
}

func TestValidate(t *testing.T) {
	p := map[string]*routecfg.Pool{"p": {Key: "p"}}
	for name, cfg := range map[string]*routecfg.Config{
		"missing pool": {Streams: []*routecfg.Stream{{Protocol: routecfg.StreamTCP, Port: 1, Pool: "x"}}},
		"bad port":     {Pools: p, Streams: []*routecfg.Stream{{Protocol: routecfg.StreamTCP, Port: 0, Pool: "p"}}},
		"bad protocol": {Pools: p, Streams: []*routecfg.Stream{{Protocol: "SCTP", Port: 1, Pool: "p"}}},
		"twice": {Pools: p, Streams: []*routecfg.Stream{{Protocol: routecfg.StreamUDP, Port: 1, Pool: "p"},
			{Protocol: routecfg.StreamUDP, Port: 1, Pool: "p"}}},
	} {
		if Validate(cfg) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := &routecfg.Config{Pools: p, Streams: []*routecfg.Stream{{Protocol: routecfg.StreamUDP, Port: 53, Pool: "p"}, {Protocol: routecfg.StreamTCP, Port: 53, Pool: "p"}}}
	if err := Validate(ok); err != nil {
		t.Errorf("TCP and UDP on one port refused: %v", err)
	}
}

// FuzzReadProxyHeader: whatever a client sends first, the header read
// neither panics nor loses the bytes after a header it accepts.
func FuzzReadProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nrest"))
	f.Add([]byte("PROXY TCP6 ::1 ::1 1 2\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\nrest"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02rest"))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		defer server.Close()
		go func() {
			_, _ = client.Write(in)
			client.Close()
		}()
		br := bufio.NewReader(server)
		h, err := readProxyHeader(server, br, time.Second)
		if err != nil {
			return
		}
		if h == nil {
			t.Fatal("no header and no error")
		}
		rest, _ := io.ReadAll(br)
		if !bytes.HasSuffix(in, rest) {
			t.Fatalf("the bytes after the header changed: %q is not a suffix of %q", rest, in)
		}
	})
}

// Drain closes the ports at once, and the connections still open when
// its context ends.
func TestDrainCutsAtTimeout(t *testing.T) {
	s, port := serve(t, routecfg.StreamTCP, settings(), tcpNamed(t, "a"))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if line, _ := r.ReadString('\n'); line != "a\n" {
		t.Fatalf("greeting %q", line)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if n := s.Drain(ctx); n != 1 {
		t.Fatalf("Drain cut %d connections, want 1", n)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err != io.EOF {
		t.Fatalf("after the drain timeout the client reads %v, want EOF", err)
	}
	if _, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		t.Fatal("the port accepts after the drain")
	}
}

// A port that cannot be bound is counted and tried again at the next
// Apply, and opens once it is free.
func TestBusyPortRetried(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := busy.Addr().(*net.TCPAddr).Port
	s := New(Options{Host: "127.0.0.1", Registerer: prometheus.NewRegistry()})
	cfg := &routecfg.Config{Pools: map[string]*routecfg.Pool{"p": {Key: "p", Endpoints: []routecfg.Endpoint{{Address: tcpNamed(t, "a")}}}},
		Streams: []*routecfg.Stream{{Protocol: routecfg.StreamTCP, Port: port, Pool: "p", Service: "ns/svc:1", Settings: settings()}}}
	s.Apply(cfg)
	s.Start()
	defer s.Drain(context.Background())
	if len(s.Ports()) != 0 || testutil.ToFloat64(s.m.listenErrors.WithLabelValues("TCP", strconv.Itoa(port), "ns/svc:1")) != 1 {
		t.Fatalf("a busy port: ports %v", s.Ports())
	}
	busy.Close()
	s.Apply(cfg)
	if got := greeting(t, port); got != "a" {
		t.Fatalf("after the port was freed: %q", got)
	}
}
