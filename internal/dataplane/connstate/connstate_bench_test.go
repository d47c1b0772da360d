package connstate

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
)

// served captures the context and RemoteAddr net/http gives a request of
// a server whose ConnContext is l's, with its connection registered in m
// as the alternative design would (ConnState keyed by RemoteAddr).
func served(b *testing.B, m *sync.Map) (context.Context, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	type got struct {
		ctx    context.Context
		remote string
	}
	ch := make(chan got, 1)
	l := NewListener(0)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ch <- got{r.Context(), r.RemoteAddr}
		}),
		ConnContext: l.ConnContext,
		ConnState: func(nc net.Conn, s http.ConnState) {
			if s == http.StateNew {
				m.Store(nc.RemoteAddr().String(), l.conn(nc))
			}
		},
	}
	go srv.Serve(ln) //nolint:errcheck // closed below
	b.Cleanup(func() { srv.Close() })
	res, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	g := <-ch
	return g.ctx, g.remote
}

// BenchmarkFrom is the per-request lookup of the connection's state in
// the request context; BenchmarkRemoteAddrMap the same through a map
// keyed by r.RemoteAddr, the design this package did not take.
func BenchmarkFrom(b *testing.B) {
	ctx, _ := served(b, &sync.Map{})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if From(ctx) == nil {
				b.Fatal("no state")
			}
		}
	})
}

func BenchmarkRemoteAddrMap(b *testing.B) {
	var m sync.Map
	_, remote := served(b, &m)
	for i := range 1000 { // other open connections
		m.Store(net.JoinHostPort("10.0.0.1", string(rune('0'+i%10))+string(rune('0'+i/10%10))+string(rune('0'+i/100))), &Conn{})
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if c, _ := m.Load(remote); c == nil {
				b.Fatal("no state")
			}
		}
	})
}
