package l4

import (
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// BenchmarkTCP compares an echo exchange straight to the backend with the
// same exchange through a TCP service, on one connection (round trip of
// 4 KiB) and on a new connection each time (connect, one byte, close).
//
//	go test ./internal/dataplane/l4 -run '^$' -bench BenchmarkTCP -benchtime 2000x
func BenchmarkTCP(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	s, port := serveBench(b, ln.Addr().String())
	defer s.Drain(b.Context())
	for _, target := range []struct{ name, addr string }{{"direct", ln.Addr().String()}, {"moat", fmt.Sprintf("127.0.0.1:%d", port)}} {
		b.Run("roundtrip-4KiB/"+target.name, func(b *testing.B) {
			c, err := net.Dial("tcp", target.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg, buf := make([]byte, 4096), make([]byte, 4096)
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("connect/"+target.name, func(b *testing.B) {
			buf := make([]byte, 1)
			for range b.N {
				c, err := net.Dial("tcp", target.addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

func serveBench(b *testing.B, ep string) (*Server, int) {
	s := New(Options{Host: "127.0.0.1"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := &routecfg.Config{Pools: map[string]*routecfg.Pool{"p": {Key: "p", Endpoints: []routecfg.Endpoint{{Address: ep}}}},
		Streams: []*routecfg.Stream{{Protocol: routecfg.StreamTCP, Port: port, Pool: "p", Service: "ns/svc:1", Settings: settings()}}}
	s.Apply(cfg)
	s.Start()
	return s, port
}
