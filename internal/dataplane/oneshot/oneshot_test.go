package oneshot

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// pair returns a connected loopback pair: ours and the peer's.
func pair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); p.Close() })
	return c, p
}

// closedByUs reports whether the peer sees EOF within 5 s.
func closedByUs(t *testing.T, peer net.Conn) bool {
	t.Helper()
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := peer.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func TestContextEndClosesAndFailReportsIt(t *testing.T) {
	c, peer := pair(t)
	ctx, cancel := context.WithCancel(context.Background())
	oc := Watch(ctx, c)
	cancel()
	if !closedByUs(t, peer) {
		t.Fatal("the connection stayed open after the context ended")
	}
	if err := oc.Fail(errors.New("use of closed network connection")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Fail = %v, want the context's error", err)
	}
}

func TestFailWithLiveContextReturnsTheError(t *testing.T) {
	c, peer := pair(t)
	oc := Watch(context.Background(), c)
	want := errors.New("malformed response")
	if err := oc.Fail(want); err != want {
		t.Fatalf("Fail = %v, want %v", err, want)
	}
	if !closedByUs(t, peer) {
		t.Fatal("Fail did not close the connection")
	}
}

func TestBodyCloseReleasesOnceAndStopsWatching(t *testing.T) {
	c, peer := pair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	oc := Watch(ctx, c)
	b := oc.Body(io.NopCloser(strings.NewReader("hello")))
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "hello" {
		t.Fatalf("body read %q, %v", got, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !closedByUs(t, peer) {
		t.Fatal("closing the body did not close the connection")
	}
	if oc.stop() {
		t.Fatal("the context watch was still armed after Release")
	}
}
