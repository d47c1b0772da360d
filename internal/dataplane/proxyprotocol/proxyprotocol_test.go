package proxyprotocol

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

// counter records OnError calls.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(listener, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[listener+"/"+reason]++
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// serve accepts one connection on a loopback listener wrapped by r and
// returns it.
func serve(t *testing.T, r *Reader) (net.Listener, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	pl := r.Listen(ln, "http")
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := pl.Accept()
		if err == nil {
			ch <- c
		}
	}()
	return ln, ch
}

func v2Header(t *testing.T, src, dst string) []byte {
	t.Helper()
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	proto := proxyproto.TCPv4
	if s.Addr().Is6() {
		proto = proxyproto.TCPv6
	}
	h := &proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proto,
		SourceAddr: net.TCPAddrFromAddrPort(s), DestinationAddr: net.TCPAddrFromAddrPort(d)}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHeaders(t *testing.T) {
	cases := []struct {
		name     string
		header   []byte
		src, dst string // "" when the socket's addresses stay
	}{
		{"v1 tcp4", []byte("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n"), "192.0.2.7:56324", "198.51.100.1:443"},
		{"v1 tcp6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 1000 80\r\n"), "[2001:db8::7]:1000", "[2001:db8::1]:80"},
		{"v1 unknown", []byte("PROXY UNKNOWN\r\n"), "", ""},
		{"v2 tcp4", v2Header(t, "203.0.113.9:4000", "10.0.0.1:8443"), "203.0.113.9:4000", "10.0.0.1:8443"},
		{"v2 tcp6", v2Header(t, "[2001:db8::9]:4000", "[2001:db8::1]:443"), "[2001:db8::9]:4000", "[2001:db8::1]:443"},
		{"v2 local", append(append([]byte{}, proxyproto.SIGV2...), 0x20, 0x00, 0x00, 0x00), "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cnt counter
			r := New(Options{OnError: cnt.add})
			r.Set(true, time.Second)
			ln, accepted := serve(t, r)
			cl, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			payload := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, err := cl.Write(append(append([]byte{}, tc.header...), payload...)); err != nil {
				t.Fatal(err)
			}
			c := <-accepted
			defer c.Close()
			got := make([]byte, len(payload))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("read after header: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("bytes after the header = %q, want %q", got, payload)
			}
			pc := c.(*Conn)
			src, dst, ok := pc.Addresses()
			if tc.src == "" {
				if ok {
					t.Errorf("addresses %v %v from a header without any", src, dst)
				}
				if c.RemoteAddr().String() != cl.LocalAddr().String() {
					t.Errorf("RemoteAddr = %v, want the socket peer %v", c.RemoteAddr(), cl.LocalAddr())
				}
				return
			}
			if !ok || src.String() != tc.src || dst.String() != tc.dst {
				t.Errorf("addresses = %v %v %v, want %s %s", src, dst, ok, tc.src, tc.dst)
			}
			if c.RemoteAddr().String() != tc.src {
				t.Errorf("RemoteAddr = %v, want %s", c.RemoteAddr(), tc.src)
			}
			if pc.Peer().String() != cl.LocalAddr().String() {
				t.Errorf("Peer = %v, want %v", pc.Peer(), cl.LocalAddr())
			}
			if c.LocalAddr().String() != ln.Addr().String() {
				t.Errorf("LocalAddr = %v, want the listener's %v", c.LocalAddr(), ln.Addr())
			}
			if n := len(cnt.n); n != 0 {
				t.Errorf("errors counted: %v", cnt.n)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	cases := []struct {
		name   string
		send   []byte
		reason string
	}{
		{"plain HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ReasonMissing},
		{"TLS ClientHello", []byte{0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}, ReasonMissing},
		{"bad v1 address", []byte("PROXY TCP4 300.1.1.1 10.0.0.1 1 2\r\nGET / HTTP/1.1\r\n\r\n"), ReasonMalformed},
		{"v1 without CRLF", []byte("PROXY TCP4 1.1.1.1 10.0.0.1 1 2\nGET / HTTP/1.1\r\n\r\n"), ReasonMalformed},
		{"v2 bad version", append(append([]byte{}, proxyproto.SIGV2...), 0x31, 0x11, 0x00, 0x0c), ReasonMalformed},
		{"v1 in pieces", []byte("PROXY TCP4 1.1.1.1"), ReasonMalformed},
		{"v2 cut short", append(append([]byte{}, proxyproto.SIGV2...), 0x21, 0x11, 0x00, 0x0c, 192, 0), ReasonTimeout},
		{"silence", nil, ReasonTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cnt counter
			r := New(Options{OnError: cnt.add})
			r.Set(true, 200*time.Millisecond)
			ln, accepted := serve(t, r)
			cl, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if len(tc.send) > 0 {
				if _, err := cl.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			}
			c := <-accepted
			defer c.Close()
			n, err := c.Read(make([]byte, 64))
			var he *HeaderError
			if n != 0 || !errors.As(err, &he) || he.Reason != tc.reason {
				t.Fatalf("Read = %d, %v; want 0 and a %s header error", n, err, tc.reason)
			}
			if _, err2 := c.Read(make([]byte, 64)); !errors.Is(err2, err) && err2 != err {
				t.Errorf("second Read = %v, want the same error", err2)
			}
			if got := cnt.get("http/" + tc.reason); got != 1 {
				t.Errorf("counted %v, want http/%s once", cnt.n, tc.reason)
			}
		})
	}
}

// A connection closed before sending a byte (a TCP health check) is not
// a header error.
func TestClosedBeforeHeaderNotCounted(t *testing.T) {
	var cnt counter
	r := New(Options{OnError: cnt.add})
	r.Set(true, time.Second)
	ln, accepted := serve(t, r)
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cl.Close()
	c := <-accepted
	defer c.Close()
	if _, err := c.Read(make([]byte, 8)); err == nil {
		t.Fatal("read succeeded on a closed connection")
	}
	if len(cnt.n) != 0 {
		t.Errorf("counted %v for an empty connection", cnt.n)
	}
}

// Off, connections are passed through unwrapped; a change applies to the
// next accepted connection.
func TestSetAppliesToNewConnections(t *testing.T) {
	r := New(Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pl := r.Listen(ln, "http")
	accept := func() net.Conn {
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		c, err := pl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	if _, ok := accept().(*Conn); ok {
		t.Error("off: connection wrapped")
	}
	if !r.Set(true, 0) {
		t.Error("Set(true) on an off Reader reported no change")
	}
	if _, ok := accept().(*Conn); !ok {
		t.Error("on: connection not wrapped")
	}
	if r.Set(true, time.Second) {
		t.Error("Set(true) again reported a change")
	}
}

// The caller's read deadline set before the first Read (the passthrough
// peek) is back in force once the header is read.
func TestCallerDeadlineKept(t *testing.T) {
	r := New(Options{})
	r.Set(true, 5*time.Second)
	ln, accepted := serve(t, r)
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Write([]byte("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n")); err != nil {
		t.Fatal(err)
	}
	c := <-accepted
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, err = c.Read(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after the header = %v, want the caller's deadline to expire", err)
	}
	var he *HeaderError
	if errors.As(err, &he) {
		t.Fatalf("the caller's deadline was taken for a header error: %v", err)
	}
}
