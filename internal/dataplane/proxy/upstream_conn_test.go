package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestUpstreamClosesIdleConnection: an upstream that closes each
// connection after answering, without saying so (a keep-alive timeout
// racing the next request), never costs the client a 502: the request
// is sent again on a new connection. A HEAD and a 204 in between leave
// the connection reusable.
func TestUpstreamClosesIdleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	closed := make(chan struct{}, 100)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			wg.Go(func() {
				defer func() { c.Close(); closed <- struct{}{} }()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					switch req.URL.Path {
					case "/head":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
					case "/204":
						io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
					default:
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
						return // close without Connection: close
					}
				}
			})
		}
	})
	cfg := config([]*routecfg.Pool{pool("u", ln.Addr().String())},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "u")}})
	f := newFixture(t, cfg, false)
	for i := range 3 {
		resp, body := f.get(t, "foo.com", "/")
		if resp.StatusCode != 200 || string(body) != "hello" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		<-closed // the proxy's pooled connection is now closed by the upstream
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d upstream connections, want 3", n)
	}
	req, _ := http.NewRequest(http.MethodHead, f.srv.URL+"/head", nil)
	req.Host = "foo.com"
	resp, err := f.client().Do(req)
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != 5 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, _ := f.get(t, "foo.com", "/204"); resp.StatusCode != 204 {
		t.Fatalf("204: %d", resp.StatusCode)
	}
	if resp, body := f.get(t, "foo.com", "/"); resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("after HEAD and 204: %d %q", resp.StatusCode, body)
	}
	if n := accepted.Load(); n != 4 {
		t.Errorf("%d upstream connections, want 4: HEAD and 204 must leave theirs reusable", n)
	}
}
