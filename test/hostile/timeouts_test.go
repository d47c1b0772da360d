package hostile

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// streamIngress routes /stream on host with proxy-request-buffering off,
// so a request body is streamed to the backend as it arrives.
var streamIngress = fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: stream
  namespace: default
  annotations: {nginx.ingress.kubernetes.io/proxy-request-buffering: "off", nginx.ingress.kubernetes.io/ssl-redirect: "false"}
spec:
  rules:
  - host: %q
    http:
      paths: [{path: /stream, pathType: Prefix, backend: {service: {name: backend, port: {number: 80}}}}]
`, host)

// TestClientTimeouts: the ConfigMap's client-header-timeout,
// client-body-timeout, keep-alive and keep-alive-requests end connections
// that stall or idle, over HTTP and HTTPS. (Before: a stalled body was
// never timed out, the header timeout was a fixed 30 s and keep-alive a
// fixed 75 s, and a connection served any number of requests.)
func TestClientTimeouts(t *testing.T) {
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{
		config: map[string]string{"client-header-timeout": "1", "client-body-timeout": "1", "keep-alive": "1", "keep-alive-requests": "3"},
		extra:  []string{streamIngress},
	})
	for _, https := range []bool{false, true} {
		scheme := map[bool]string{false: "http", true: "https"}[https]
		t.Run(scheme+"/stalled-header", func(t *testing.T) {
			c := m.dial(t, https)
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n", host) // and never the blank line
			closedWithin(t, c, 8*time.Second)
		})
		t.Run(scheme+"/silent-connection", func(t *testing.T) {
			c := m.dial(t, https)
			closedWithin(t, c, 8*time.Second)
		})
		for _, path := range []string{"/buffered", "/stream"} {
			t.Run(scheme+"/stalled-body"+path, func(t *testing.T) {
				c := m.dial(t, https)
				// 10 bytes of 100000, then silence: nginx answers 408 after
				// client_body_timeout and closes.
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 100000\r\n\r\n0123456789", path, host)
				res, err := response(c, 8*time.Second)
				if err != nil {
					t.Fatalf("no answer to a stalled body: %v", err)
				}
				if res.StatusCode != http.StatusRequestTimeout {
					t.Errorf("status %d, want 408", res.StatusCode)
				}
				closedWithin(t, c, 8*time.Second)
			})
		}
		t.Run(scheme+"/idle-keep-alive", func(t *testing.T) {
			c := m.dial(t, https)
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host)
			res, err := response(c, 5*time.Second)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("first request: %v %v", res, err)
			}
			closedWithin(t, c, 8*time.Second)
		})
		t.Run(scheme+"/keep-alive-requests", func(t *testing.T) {
			c := m.dial(t, https)
			br := bufio.NewReader(c)
			for i := 1; i <= 3; i++ {
				fmt.Fprintf(c, "GET /n%d HTTP/1.1\r\nHost: %s\r\n\r\n", i, host)
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				res.Body.Close()
				if res.Close != (i == 3) { // res.Close: "Connection: close"
					t.Errorf("request %d: Connection: close is %v; want it on the 3rd only", i, res.Close)
				}
			}
			closedWithin(t, c, 5*time.Second)
		})
	}
}

// TestHeaderTimeoutChangeApplies: a new client-header-timeout applies to
// new connections without a restart (the servers are replaced, the old
// ones finish their requests), as an nginx reload does.
func TestHeaderTimeoutChangeApplies(t *testing.T) {
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{config: map[string]string{"client-header-timeout": "60"}})
	// A request in flight across the change is not cut.
	c := m.dial(t, false)
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: 6\r\n\r\nabc", host)
	m.reconfigure(t, map[string]string{"client-header-timeout": "1"})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(m.logs.String(), "client timeouts changed") {
		if time.Now().After(deadline) {
			t.Fatal("the new client-header-timeout was not applied within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprint(c, "def")
	if res, err := response(c, 5*time.Second); err != nil || res.StatusCode != 200 {
		t.Fatalf("request across the change: %v %v", res, err)
	}
	stalled := m.dial(t, false)
	fmt.Fprintf(stalled, "GET / HTTP/1.1\r\nHost: %s\r\n", host)
	closedWithin(t, stalled, 8*time.Second)
	if res, err := m.client(false).Get("http://" + host + "/"); err != nil || res.StatusCode != 200 {
		t.Fatalf("served after the change: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}
