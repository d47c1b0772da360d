package extauth

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// authClients are the auth-keepalive connection pools, one per setting,
// kept across swaps; the zero value is ready.
type authClients struct {
	mu sync.Mutex
	m  map[authPoolKey]*http.Client
}

type authPoolKey struct {
	conns   int
	timeout time.Duration
}

// newAuthClient is ingress-nginx's default auth location: nginx's
// proxy_pass without an upstream keepalive, so every auth request opens
// a connection and sends Connection: close. Redirects are not followed.
func newAuthClient() *http.Client {
	return authHTTPClient(&http.Transport{
		DialContext:       (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		DisableKeepAlives: true,
	})
}

func authHTTPClient(tr *http.Transport) *http.Client {
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get returns the pool for k: Conns idle connections kept for Timeout
// (nginx's upstream keepalive and keepalive_timeout).
func (c *authClients) get(k *routecfg.AuthKeepalive) *http.Client {
	key := authPoolKey{k.Conns, k.Timeout}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.m[key]; cl != nil {
		return cl
	}
	if c.m == nil {
		c.m = map[authPoolKey]*http.Client{}
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	cl := authHTTPClient(&http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &authConn{Conn: conn}, nil
		},
		MaxIdleConnsPerHost: k.Conns,
		IdleConnTimeout:     k.Timeout,
	})
	c.m[key] = cl
	return cl
}

// authConn counts the requests a keepalive connection carried, for
// auth-keepalive-requests (nginx's keepalive_requests).
type authConn struct {
	net.Conn
	uses atomic.Int64
}

// traceUses returns a trace that counts the connection's use and, through
// last, the connection to close once the answer is read because it has
// carried its last request.
func traceUses(k *routecfg.AuthKeepalive, last *net.Conn) *httptrace.ClientTrace {
	return &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		conn := i.Conn
		if tc, ok := conn.(*tls.Conn); ok {
			conn = tc.NetConn()
		}
		if c, ok := conn.(*authConn); ok && c.uses.Add(1) >= int64(k.Requests) {
			*last = c
		}
	}}
}
