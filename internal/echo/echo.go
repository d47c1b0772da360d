// Package echo is moat's debug backend: it answers every request with a
// JSON description of what it received, streams lines on /stream and
// echoes WebSocket messages. End-to-end tests put it behind the proxy to
// see exactly what the proxy forwarded.
package echo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Response is the JSON body of every non-streaming answer.
type Response struct {
	// Name is the name the backend was started with.
	Name   string `json:"name"`
	Method string `json:"method"`
	// Path is r.URL.Path: decoded, as the proxy's rewrite left it.
	Path string `json:"path"`
	// URI is r.RequestURI: the request target exactly as received, so
	// tests can check the proxy's escaping.
	URI      string `json:"uri"`
	RawQuery string `json:"rawQuery"`
	Host     string `json:"host"`
	// Headers are the request headers, canonicalised; Host is not among
	// them (net/http moves it to Host).
	Headers    map[string][]string `json:"headers"`
	TLS        bool                `json:"tls"`
	RemoteAddr string              `json:"remoteAddr"`
	Proto      string              `json:"proto"`
}

// NameHeader carries the backend's name on every response, including the
// 101 of a WebSocket upgrade and streams, where there is no JSON body.
const NameHeader = "X-Echo-Name"

const (
	defaultStreamLines = 5
	maxStreamLines     = 10000
	maxStreamInterval  = 10 * time.Second
	// maxDrain bounds how much of a request body is read and discarded so
	// the connection stays reusable after an upload.
	maxDrain = 10 << 20
	// shutdownGrace bounds graceful shutdown before connections are cut.
	shutdownGrace = 5 * time.Second
)

// Handler answers every request with 200 and a Response, except:
//   - a WebSocket upgrade (RFC 6455) is accepted and each message echoed;
//   - a path that is or ends in "/stream" streams lines (see below).
//
// Streaming: "GET /stream?n=5&interval=100ms" writes n lines (default 5,
// at most 10000) of NDJSON {"name":..., "line": i}, flushing after each
// and waiting interval (default 0, at most 10s) between them. The suffix
// match lets a test reach it through a prefix route without a rewrite.
func Handler(name string) http.Handler { return newHandler(name) }

type handler struct {
	name string

	mu      sync.Mutex
	conns   map[*wsConn]struct{} // hijacked WebSocket connections
	closing bool
}

func newHandler(name string) *handler {
	return &handler{name: name, conns: map[*wsConn]struct{}{}}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(NameHeader, h.name)
	switch {
	case isWebSocketUpgrade(r):
		h.serveWebSocket(w, r)
	case r.URL.Path == "/stream" || strings.HasSuffix(r.URL.Path, "/stream"):
		h.serveStream(w, r)
	default:
		h.serveJSON(w, r)
	}
}

func (h *handler) serveJSON(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
	resp := Response{
		Name:       h.name,
		Method:     r.Method,
		Path:       r.URL.Path,
		URI:        r.RequestURI,
		RawQuery:   r.URL.RawQuery,
		Host:       r.Host,
		Headers:    r.Header,
		TLS:        r.TLS != nil,
		RemoteAddr: r.RemoteAddr,
		Proto:      r.Proto,
	}
	if resp.Headers == nil {
		resp.Headers = map[string][]string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(resp)
}

// StreamLine is one line of the /stream response.
type StreamLine struct {
	Name string `json:"name"`
	Line int    `json:"line"`
}

func (h *handler) serveStream(w http.ResponseWriter, r *http.Request) {
	n := defaultStreamLines
	var interval time.Duration
	q := r.URL.Query()
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > maxStreamLines {
			http.Error(w, fmt.Sprintf("n: want an integer from 0 to %d", maxStreamLines), http.StatusBadRequest)
			return
		}
		n = v
	}
	if s := q.Get("interval"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 || v > maxStreamInterval {
			http.Error(w, fmt.Sprintf("interval: want a duration from 0 to %v", maxStreamInterval), http.StatusBadRequest)
			return
		}
		interval = v
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	for i := 1; i <= n; i++ {
		if i > 1 && interval > 0 {
			t := time.NewTimer(interval)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if enc.Encode(StreamLine{Name: h.name, Line: i}) != nil || rc.Flush() != nil {
			return
		}
	}
}

// Serve listens on addr and serves Handler(name) until ctx is done, then
// shuts down gracefully; open WebSocket connections get a 1001 close.
func Serve(ctx context.Context, addr, name string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("echo %s: %w", name, err)
	}
	return ServeListener(ctx, ln, name, log)
}

// ServeListener is Serve on an existing listener (for port 0 in tests).
// It closes ln.
func ServeListener(ctx context.Context, ln net.Listener, name string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := newHandler(name)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(h.goAway)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("echo backend listening", "name", name, "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("echo %s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("echo backend: graceful shutdown timed out", "name", name, "err", err)
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("echo %s: %w", name, err)
	}
	return nil
}
