// Package connstate is what the requests of one client connection share:
// the listener's port, the address the client connected to, the
// connection's limits (clientconn.Conn) and its client-certificate
// verdict (certs.ConnInfo).
//
// moat's servers build a connection's state once, when it is accepted
// (Plain, TLSConn, QUICConn), and bind it to the handler of that
// connection's requests (proxy.Handler.ForConn): the request path reads
// no context value. A server of net/http gives a handler nothing of its
// connection but the request's context, so for those (the proxy's tests)
// ConnContext stores the state there and From reads it. A per-listener
// map keyed by r.RemoteAddr was measured slower than the context
// (BenchmarkRemoteAddrMap) and is not a key: with PROXY protocol the
// address is the header's, which two connections may share.
package connstate

import (
	"context"
	"net"
	"strconv"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/clientconn"
)

// Conn is one client connection's state. Its fields do not change once
// the connection is served.
type Conn struct {
	// Port is the listener's port, for X-Forwarded-Port and
	// $server_port.
	Port string
	// Local is the address the client connected to; nil when unknown.
	Local net.Addr
	// Client is the connection under the limits of a clientconn.Gate;
	// nil when the listener has none.
	Client *clientconn.Conn
	// TLS is the client-certificate verdict shared by the connection's
	// requests; nil on plain HTTP.
	TLS *certs.ConnInfo

	tls certs.ConnInfo
}

// Listener builds the state of its connections.
type Listener struct{ port string }

// NewListener returns the Listener of a server on port; 0 takes each
// connection's local port.
func NewListener(port int) *Listener {
	l := &Listener{}
	if port > 0 {
		l.port = strconv.Itoa(port)
	}
	return l
}

type key struct{}

// ConnContext is the http.Server's ConnContext of a plain-HTTP listener:
// nc is a clientconn.Conn or wraps one (clientconn.Unwrap).
func (l *Listener) ConnContext(ctx context.Context, nc net.Conn) context.Context {
	return context.WithValue(ctx, key{}, l.conn(nc))
}

// TLSConnContext is ConnContext for a listener that terminates TLS: its
// connections also get a client-certificate verdict.
func (l *Listener) TLSConnContext(ctx context.Context, nc net.Conn) context.Context {
	c := l.conn(nc)
	c.TLS = &c.tls
	return context.WithValue(ctx, key{}, c)
}

// Plain is the state of a plain-HTTP connection, for servers that hand
// it to the handler directly (h1serve).
func (l *Listener) Plain(nc net.Conn) *Conn { return l.conn(nc) }

// TLSConn is Plain for a connection that terminates TLS.
func (l *Listener) TLSConn(nc net.Conn) *Conn {
	c := l.conn(nc)
	c.TLS = &c.tls
	return c
}

// QUICConn is the state of an HTTP/3 connection: TLS, no Gate, and no
// local address.
func (l *Listener) QUICConn() *Conn {
	c := &Conn{Port: l.port}
	c.TLS = &c.tls
	return c
}

func (l *Listener) conn(nc net.Conn) *Conn {
	c := &Conn{Port: l.port, Local: nc.LocalAddr(), Client: clientconn.Unwrap(nc)}
	if c.Port == "" && c.Local != nil {
		_, c.Port, _ = net.SplitHostPort(c.Local.String())
	}
	return c
}

// From returns the state of the request context's connection, nil when
// its server set none (a handler served outside moat's listeners).
func From(ctx context.Context) *Conn {
	c, _ := ctx.Value(key{}).(*Conn)
	return c
}
