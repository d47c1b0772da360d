package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/moat-ingress/moat/internal/dataplane/connstate"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// HTTP/3 (--http3) is beyond ingress-nginx: the HTTPS port over UDP with
// quic-go, the same handler as HTTP/1.1 and HTTP/2, so the same routing,
// certificate choice by SNI (the same certs.Server configs, offering h3
// by ALPN) and policies; HTTPS responses advertise it with Alt-Svc.

// altSvcMaxAge is how long a client may remember the HTTP/3 endpoint (one
// day, as Caddy and Cloudflare advertise).
const altSvcMaxAge = "86400"

// h3Listener is the HTTP/3 side of Serve. Each QUIC connection gets an
// http3.Server of its own, whose handler holds the connection's state
// (quic-go's server, like net/http's, has one handler for all its
// connections and would carry that state in the request context).
type h3Listener struct {
	pc     net.PacketConn
	altSvc []string // the Alt-Svc value, shared (never modified)
	ln     *quic.Listener
	done   chan struct{} // closed when the accept loop returned

	mu      sync.Mutex
	stopped bool
	srvs    map[*http3.Server]struct{}
	serving sync.WaitGroup // the connections' ServeQUICConn calls
}

// EnableHTTP3 makes Serve answer HTTP/3 on pc, which should be bound to
// the HTTPS listener's port over UDP, and advertise it on HTTPS responses
// as port advertisedPort (the port clients reach, as
// --https-redirect-port; 0 means 443). Call it before Serve; Serve closes
// pc when it returns.
func (d *Dataplane) EnableHTTP3(pc net.PacketConn, advertisedPort int) {
	if advertisedPort <= 0 {
		advertisedPort = 443
	}
	d.h3 = &h3Listener{pc: pc, altSvc: []string{`h3=":` + strconv.Itoa(advertisedPort) + `"; ma=` + altSvcMaxAge}}
}

// startHTTP3 serves HTTP/3 until stopHTTP3; port is the HTTPS listener's
// (the requests' server port, as on TCP).
func (d *Dataplane) startHTTP3(_ context.Context, port int) {
	h := d.h3
	conns := connstate.NewListener(port)
	h.done = make(chan struct{})
	h.srvs = map[*http3.Server]struct{}{}
	// No 0-RTT: early data can be replayed, and nginx's ssl_early_data is
	// off by default too.
	ln, err := quic.Listen(h.pc, http3.ConfigureTLSConfig(d.h3TLSConfig()), &quic.Config{Allow0RTT: false})
	if err != nil {
		close(h.done)
		d.log.Error("HTTP/3 listener not started; HTTP/1.1 and HTTP/2 keep serving", "addr", h.pc.LocalAddr().String(), "error", err)
		return
	}
	h.ln = ln
	log := slog.New(d.log.Handler()).With("listener", "http3")
	go func() {
		defer close(h.done)
		for {
			qc, err := ln.Accept(context.Background())
			if err != nil {
				if !errors.Is(err, quic.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
					d.log.Error("HTTP/3 listener stopped; HTTP/1.1 and HTTP/2 keep serving", "addr", h.pc.LocalAddr().String(), "error", err)
				}
				return
			}
			srv := &http3.Server{
				Handler:        d.withAltSvc(d.handler.ForConn(conns.QUICConn())),
				MaxHeaderBytes: maxHeaderBytes,
				IdleTimeout:    d.clientLimits().KeepAlive,
				Logger:         log,
			}
			h.mu.Lock()
			if h.stopped {
				h.mu.Unlock()
				_ = qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
				continue
			}
			h.srvs[srv] = struct{}{}
			h.serving.Add(1)
			h.mu.Unlock()
			go func() {
				defer h.serving.Done()
				_ = srv.ServeQUICConn(qc) // http.ErrServerClosed once shut down
				// ServeQUICConn leaves closing the connection to its caller.
				_ = qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
				h.mu.Lock()
				delete(h.srvs, srv)
				h.mu.Unlock()
			}()
		}
	}()
}

// errPassthroughQUIC fails a QUIC handshake for an ssl-passthrough host:
// its TLS belongs to the backend, which QUIC cannot reach through moat, so
// the client falls back to TCP rather than get moat's certificate.
var errPassthroughQUIC = errors.New("ssl-passthrough host: no HTTP/3, use TCP")

// h3TLSConfig is the listener's TLS config, refusing passthrough hosts.
func (d *Dataplane) h3TLSConfig() *tls.Config {
	c := d.tlsServer.Config()
	pick := c.GetConfigForClient
	c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if _, ok := d.pass.Load().names.Lookup(hello.ServerName); ok {
			return nil, errPassthroughQUIC
		}
		return pick(hello)
	}
	return c
}

// stopHTTP3 is the HTTP/3 part of the drain: GOAWAY to every connection,
// then the requests in flight may finish until ctx is done, after which
// the connections are closed. It reports whether it had to cut them.
func (d *Dataplane) stopHTTP3(ctx context.Context) (cut bool) {
	h := d.h3
	if h == nil || h.done == nil {
		return false
	}
	if h.ln != nil {
		h.ln.Close()
	}
	<-h.done
	h.mu.Lock()
	h.stopped = true
	srvs := make([]*http3.Server, 0, len(h.srvs))
	for srv := range h.srvs {
		srvs = append(srvs, srv)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	var n atomic.Int32
	for _, srv := range srvs {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				n.Add(1)
			}
		})
	}
	wg.Wait()
	h.serving.Wait()
	h.pc.Close()
	return n.Load() > 0
}

// withAltSvc is h advertising HTTP/3 when it is on.
func (d *Dataplane) withAltSvc(h http.Handler) http.Handler {
	if d.h3 == nil {
		return h
	}
	return &altSvcHandler{next: h, d: d, value: d.h3.altSvc}
}

type altSvcHandler struct {
	next  http.Handler
	d     *Dataplane
	value []string
}

func (a *altSvcHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS != nil && a.d.http3Offered() {
		w.Header()["Alt-Svc"] = a.value
	}
	a.next.ServeHTTP(w, r)
}

// http3Offered is false when ssl-protocols leaves out TLS 1.3, which QUIC
// requires: advertising HTTP/3 would send clients to failing handshakes.
func (d *Dataplane) http3Offered() bool {
	if c := d.snap.Load().Config; c != nil && c.ServerTLS != nil && c.ServerTLS.MaxVersion != 0 {
		return c.ServerTLS.MaxVersion >= tls.VersionTLS13
	}
	return true
}
