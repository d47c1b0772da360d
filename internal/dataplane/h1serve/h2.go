//lint:file-ignore SA1019 x/net/http2's server is the one that serves a connection accepted here with its own handler (below).

package h1serve

import (
	"log/slog"
	"net"
	"net/http"

	"golang.org/x/net/http2"
)

// HTTP/2 is x/net/http2's server, the code net/http bundles. x/net marks
// it deprecated in favour of http.Server, but net/http serves HTTP/2 only
// on connections it accepted itself and with one handler for all of them;
// ServeConn is the one way to serve a connection accepted here with a
// handler of its own (from Go 1.27 x/net runs net/http's server under it).

// newHTTP2 returns the HTTP/2 server of s and the http.Server whose
// settings (s.HTTP2, timeouts, header bound, ConnState) it reads and whose
// Shutdown sends its connections GOAWAY; that http.Server never serves.
func newHTTP2(s *Server) (*http2.Server, *http.Server) {
	base := &http.Server{
		IdleTimeout: s.IdleTimeout,
		ConnState:   s.ConnState,
		ErrorLog:    slog.NewLogLogger(s.Log.Handler(), slog.LevelDebug),
		// Header lists: the same bound as a request head.
		MaxHeaderBytes: s.Limits.MaxTotal,
		HTTP2:          s.HTTP2,
	}
	h2 := &http2.Server{}
	_ = http2.ConfigureServer(base, h2) // registers the GOAWAY on base.Shutdown
	return h2, base
}

// serveH2 hands the connection to the HTTP/2 server.
func (c *conn) serveH2(nc net.Conn, sawPreface bool) {
	s := c.s
	c.born.Store(0) // GOAWAY ends it in a drain
	s.setState(c.nc, http.StateActive)
	opts := &http2.ServeConnOpts{
		Context:          s.BaseContext,
		BaseConfig:       s.h2base,
		Handler:          s.Handler(c.nc),
		SawClientPreface: sawPreface,
	}
	s.h2.ServeConn(nc, opts)
}
