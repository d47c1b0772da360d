package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/moat-ingress/moat/internal/admin"
	"github.com/moat-ingress/moat/internal/dataplane"
	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/l4"
	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/translate"
)

// Listen are the listener settings serve and controller share.
type Listen struct {
	HTTPAddr, HTTPSAddr string
	AdminAddr           string
	// DebugAddr, when set, serves /debug/* (and pprof) there and no
	// longer on AdminAddr, which keeps /healthz, /readyz and /metrics
	// (--debug-addr): the admin port must be reachable by probes and
	// scrapers, the debug endpoints only from inside the pod.
	DebugAddr         string
	HTTPSRedirectPort int
	// EnableSSLPassthrough lets ssl-passthrough hosts through the HTTPS
	// listener unterminated (--enable-ssl-passthrough).
	EnableSSLPassthrough bool
	// HTTP3 serves HTTP/3 on the HTTPS port over UDP and advertises it
	// with Alt-Svc (--http3).
	HTTP3 bool
	// Profiling serves /debug/pprof/ with the other debug endpoints (--profiling).
	Profiling bool
	// AccessLogJSON writes moat's JSON access-log lines instead of
	// log-format-upstream (--access-log-format=json).
	AccessLogJSON bool
	// Metrics are the controller labels of the ingress-nginx metric
	// families (controller_namespace, controller_class, controller_pod).
	Metrics metrics.Options
}

// plane is the serving half shared by serve and controller: the metrics
// registry, the data plane and the three bound listeners.
type plane struct {
	log       *slog.Logger
	reg       *prometheus.Registry
	metrics   *metrics.Metrics
	dp        *dataplane.Dataplane
	httpLn    net.Listener
	httpsLn   net.Listener
	adminLn   net.Listener
	debugLn   net.Listener   // nil: /debug/* on adminLn
	h3Conn    net.PacketConn // nil without --http3
	addrs     Addrs
	listening atomic.Bool
	profiling bool
	// trafficStarted is set when serveTraffic starts the data plane,
	// trafficDone closed when it has drained (lifecycle.go).
	trafficStarted atomic.Bool
	trafficDone    chan struct{}
}

// newPlane builds the data plane and binds the listeners, so that a busy
// port fails the command before anything else starts.
func newPlane(l Listen, log *slog.Logger, accessLog io.Writer) (*plane, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	defCert, err := certs.GenerateDefault(time.Now())
	if err != nil {
		return nil, fmt.Errorf("generating the default certificate: %w", err)
	}
	mo := l.Metrics
	mo.ProcessCollector = true
	m := metrics.NewWith(reg, mo)
	// TCP and UDP services listen on --http-addr's host (all addresses
	// for ":8080"), as ingress-nginx's stream servers on its bind address.
	streamHost, _, _ := net.SplitHostPort(l.HTTPAddr)
	dp, err := dataplane.New(dataplane.Options{
		Streams:              l4.New(l4.Options{Host: streamHost, Logger: log, Registerer: reg}),
		Logger:               log,
		AccessLog:            accessLog,
		AccessLogJSON:        l.AccessLogJSON,
		Metrics:              m,
		HTTPSRedirectPort:    l.HTTPSRedirectPort,
		EnableSSLPassthrough: l.EnableSSLPassthrough,
		DefaultCert:          defCert,
	})
	if err != nil {
		return nil, err
	}
	p := &plane{log: log, reg: reg, metrics: m, dp: dp, profiling: l.Profiling, trafficDone: make(chan struct{})}
	if p.httpLn, err = net.Listen("tcp", l.HTTPAddr); err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}
	if p.httpsLn, err = net.Listen("tcp", l.HTTPSAddr); err != nil {
		p.close()
		return nil, fmt.Errorf("--https-addr: %w", err)
	}
	if p.adminLn, err = net.Listen("tcp", l.AdminAddr); err != nil {
		p.close()
		return nil, fmt.Errorf("--admin-addr: %w", err)
	}
	p.addrs = Addrs{HTTP: p.httpLn.Addr().String(), HTTPS: p.httpsLn.Addr().String(), Admin: p.adminLn.Addr().String()}
	if l.HTTP3 {
		// The HTTPS listener's bound address, so a port chosen by the
		// system (tests) is the same over UDP.
		if p.h3Conn, err = net.ListenPacket("udp", p.addrs.HTTPS); err != nil {
			p.close()
			return nil, fmt.Errorf("--http3: UDP %s: %w", p.addrs.HTTPS, err)
		}
		dp.EnableHTTP3(p.h3Conn, l.HTTPSRedirectPort)
	}
	if l.DebugAddr != "" {
		if p.debugLn, err = net.Listen("tcp", l.DebugAddr); err != nil {
			p.close()
			return nil, fmt.Errorf("--debug-addr: %w", err)
		}
		p.addrs.Debug = p.debugLn.Addr().String()
	}
	return p, nil
}

// close releases the listeners when the plane never ran.
func (p *plane) close() {
	for _, ln := range []net.Listener{p.httpLn, p.httpsLn, p.adminLn, p.debugLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if p.h3Conn != nil {
		p.h3Conn.Close()
	}
}

// serveAdmin runs the admin listener in g until gctx is done.
func (p *plane) serveAdmin(g *errgroup.Group, gctx context.Context, adm *admin.Server) {
	if p.profiling {
		adm.EnableProfiling()
	}
	if p.debugLn == nil {
		serveHTTP(g, gctx, "admin", p.adminLn, adm.Handler())
		return
	}
	serveHTTP(g, gctx, "admin", p.adminLn, adm.HealthHandler())
	serveHTTP(g, gctx, "debug", p.debugLn, adm.DebugHandler())
}

// serveHTTP runs an HTTP server on ln in g until gctx is done.
func serveHTTP(g *errgroup.Group, gctx context.Context, name string, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("%s listener: %w", name, err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
}

// serveTraffic runs the HTTP and HTTPS listeners in g until ctx is done,
// then drains them; ready is called once they accept.
func (p *plane) serveTraffic(g *errgroup.Group, ctx context.Context, ready func(Addrs)) {
	p.trafficStarted.Store(true)
	g.Go(func() error {
		defer close(p.trafficDone)
		return p.dp.Serve(ctx, p.httpLn, p.httpsLn, func() {
			p.listening.Store(true)
			p.log.Info("moat is serving", "http", p.addrs.HTTP, "https", p.addrs.HTTPS, "admin", p.addrs.Admin, "debug", p.addrs.Debug)
			if ready != nil {
				ready(p.addrs)
			}
		})
	})
}

// metricsLabels are the metrics' controller labels: the pod's namespace
// and name ($POD_NAMESPACE, $POD_NAME, as ingress-nginx reads them; the
// host name when unset) and the controller class.
func metricsLabels(namespace, class, pod string) metrics.Options {
	if pod == "" {
		pod, _ = os.Hostname()
	}
	if class == "" {
		class = translate.DefaultControllerClass
	}
	return metrics.Options{Namespace: namespace, Class: class, Pod: pod}
}
