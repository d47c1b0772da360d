package hostile

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowlorisAtConnectionLimit: with max-worker-connections 10, ten
// slowloris connections (a header never finished) fill moat; one more
// HTTP connection gets 503 and one more HTTPS connection is closed before
// the handshake, both counted; the header timeout reaps the slow ones and
// a well-behaved client is served again. (Before: no limit, nothing
// counted.)
func TestSlowlorisAtConnectionLimit(t *testing.T) {
	const limit = 10
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{config: map[string]string{"max-worker-connections": fmt.Sprint(limit), "client-header-timeout": "2"}})

	slow := make([]net.Conn, 0, limit)
	for range limit {
		c := m.dial(t, false)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nX-Slow: ", host)
		slow = append(slow, c)
	}
	// The limit is reached once moat has accepted them all: a new
	// connection then gets 503 at once.
	var status int
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c := m.dial(t, false)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
		res, err := response(c, 5*time.Second)
		c.Close()
		if err == nil && res.StatusCode == http.StatusServiceUnavailable {
			status = res.StatusCode
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != http.StatusServiceUnavailable {
		t.Fatalf("a connection over the limit was not answered 503")
	}
	// HTTPS: closed before the handshake.
	d := &net.Dialer{Timeout: 5 * time.Second}
	if c, err := tls.DialWithDialer(d, "tcp", m.addrs.HTTPS, &tls.Config{ServerName: host, RootCAs: m.roots}); err == nil {
		c.Close()
		t.Errorf("an HTTPS connection over the limit completed its handshake")
	}
	for _, l := range []string{"http", "https"} {
		if v := m.metric(t, `moat_client_connections_refused_total{listener="`+l+`"}`); v == "" || v == "0" {
			t.Errorf("moat_client_connections_refused_total{listener=%q} = %q, want > 0", l, v)
		}
	}
	if !strings.Contains(m.logs.String(), "client connection limit reached") {
		t.Errorf("no WARN about the connection limit")
	}
	// The slowloris connections are reaped by client-header-timeout and a
	// well-behaved client is served.
	c := m.client(false)
	deadline = time.Now().Add(10 * time.Second)
	for {
		res, err := c.Get("http://" + host + "/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("well-behaved client not served within 10s: %v %v", res, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range slow {
		closedWithin(t, s, 5*time.Second)
	}
}
