package passthrough

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

func newListener(t *testing.T, route func(string) (Backend, bool)) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Options{TLS: &tls.Config{}, Route: route, PeekTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { l.Close(); l.Shutdown(context.Background()) })
	return l
}

// accept returns the next terminated connection or fails after a bound.
func accept(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	select {
	case c := <-got:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection handed to TLS")
	}
	return nil
}

// TestPeekBounds: a silent client and an oversized ClientHello are handed
// to TLS termination after the peek timeout or limit, not held.
func TestPeekBounds(t *testing.T) {
	l := newListener(t, func(string) (Backend, bool) { return Backend{}, false })
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	c := accept(t, l)
	if _, ok := c.(*tls.Conn); !ok || time.Since(start) > 4*time.Second {
		t.Errorf("silent client: %T after %s", c, time.Since(start))
	}
	c.Close()

	big, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	// A handshake header announcing 1 MiB.
	_, _ = big.Write([]byte{0x16, 3, 1, 0x40, 0, 1, 0x10, 0, 0})
	_, _ = big.Write(make([]byte, 0x4000-4))
	accept(t, l).Close()
}

// TestPassThrough: the backend receives the ClientHello byte for byte and
// the stream continues both ways.
func TestPassThrough(t *testing.T) {
	be, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	released := make(chan struct{}, 1)
	l := newListener(t, func(sni string) (Backend, bool) {
		if sni != "pass.example" {
			return Backend{}, false
		}
		return Backend{Address: be.Addr().String(), Release: func() { released <- struct{}{} }}, true
	})
	go func() {
		for {
			if _, err := l.Accept(); err != nil {
				return
			}
		}
	}()
	hello := clientHello(t, "pass.example")
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	bc, err := be.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(hello))
	_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(bc, got); err != nil || !bytes.Equal(got, hello) {
		t.Fatalf("backend got %d bytes (%v), want the ClientHello", len(got), err)
	}
	_, _ = bc.Write([]byte("from backend"))
	reply := make([]byte, len("from backend"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, reply); err != nil || string(reply) != "from backend" {
		t.Fatalf("client got %q (%v)", reply, err)
	}
	c.Close()
	bc.Close()
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Error("backend not released after the stream ended")
	}
}
