// Package admin serves the operator endpoints: /healthz, /readyz, /metrics
// and read-only debug views. It listens on its own address, loopback by
// default, because /debug shows configuration.
package admin

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/routecfg/dump"
	"github.com/moat-ingress/moat/internal/store"
)

// Server holds the state the endpoints show.
type Server struct {
	gatherer prometheus.Gatherer
	ready    func() bool
	last     atomic.Pointer[reconcile.Result]
	// profiling mounts net/http/pprof under /debug/pprof/ (--profiling).
	profiling bool
	// shuttingDown fails /readyz from the shutdown signal on, so that
	// endpoints are withdrawn while the listeners still serve.
	shuttingDown atomic.Bool
	// gatewayStatus renders /debug/gateway (gateway.go); nil: not set.
	gatewayStatus func(*store.Snapshot) string
}

// New returns an admin server; ready reports readiness (first config
// applied and listeners accepting).
func New(g prometheus.Gatherer, ready func() bool) *Server {
	return &Server{gatherer: g, ready: ready}
}

// EnableProfiling serves Go's runtime profiles under /debug/pprof/, as
// ingress-nginx's --profiling does. Off by default: a CPU profile costs
// the data plane CPU while it runs.
func (s *Server) EnableProfiling() { s.profiling = true }

// ShuttingDown makes /readyz fail from now on (/healthz stays ok).
func (s *Server) ShuttingDown() { s.shuttingDown.Store(true) }

// Observe records the latest reconcile result for the debug endpoints.
func (s *Server) Observe(r reconcile.Result) { s.last.Store(&r) }

// Handler returns the admin mux: HealthHandler's and DebugHandler's
// endpoints on one listener.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	s.debug(mux)
	return mux
}

// HealthHandler serves /healthz, /readyz and /metrics: what probes and
// scrapers need, and all the admin port offers when --debug-addr moves
// the debug endpoints elsewhere.
func (s *Server) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	return mux
}

// DebugHandler serves /debug/* (configuration, certificates,
// diagnostics, pprof when enabled): what an operator reads, kept off the
// pod network with --debug-addr.
func (s *Server) DebugHandler() http.Handler {
	mux := http.NewServeMux()
	s.debug(mux)
	return mux
}

func (s *Server) health(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.shuttingDown.Load() {
			http.Error(w, "not ready: shutting down", http.StatusServiceUnavailable)
			return
		}
		if !s.ready() {
			http.Error(w, "not ready: no configuration applied yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
}

func (s *Server) debug(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/config", func(w http.ResponseWriter, _ *http.Request) {
		r := s.last.Load()
		if r == nil {
			http.Error(w, "no configuration yet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(dump.Config(r.Config)))
	})
	// Every host's certificate, issuer, SANs, expiry and why it fell
	// back to the default certificate (certs.go).
	mux.HandleFunc("GET /debug/certs", s.certs)
	mux.HandleFunc("GET /debug/gateway", s.gateway)
	if s.profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("GET /debug/diagnostics", func(w http.ResponseWriter, _ *http.Request) {
		r := s.last.Load()
		if r == nil {
			http.Error(w, "no configuration yet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		ds := r.Diagnostics
		if ds == nil {
			ds = []diag.Diagnostic{} // a list, also when empty: [] rather than null
		}
		_ = enc.Encode(ds)
	})
}
