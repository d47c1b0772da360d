// Package app wires moat's components for the serve command: the file
// source, the store, the reconcile loop, the data plane and the admin
// listener, run together in one errgroup. cmd/moat only parses flags; tests
// start the same wiring in-process on loopback ports.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/moat-ingress/moat/internal/admin"
	"github.com/moat-ingress/moat/internal/dataplane"
	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/source/file"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

// ServeConfig is everything `moat serve` takes.
type ServeConfig struct {
	Manifests                []string
	HTTPAddr, HTTPSAddr      string
	AdminAddr                string
	IngressClass             string
	ControllerClass          string
	WatchIngressWithoutClass bool
	DefaultSSLCertificate    string
	HTTPSRedirectPort        int
	// ConfigMap is the controller ConfigMap, "namespace/name" (one of the
	// manifests); AnnotationsPrefix replaces nginx.ingress.kubernetes.io.
	ConfigMap         string
	AnnotationsPrefix string

	// Log receives operational logs; AccessLog one JSON line per request.
	Log       *slog.Logger
	AccessLog io.Writer
	// Ready, when set, is called once with the bound addresses after the
	// first configuration is applied and the listeners accept.
	Ready func(Addrs)
	// HoldOff and MaxDelay tune change coalescing (file debounce and
	// reconcile hold-off); zero means the defaults (100 ms / 500 ms).
	HoldOff, MaxDelay time.Duration
}

// Addrs are the bound listener addresses (useful with port 0).
type Addrs struct {
	HTTP, HTTPS, Admin string
}

// Serve runs moat in file mode until ctx is done.
func Serve(ctx context.Context, c ServeConfig) error {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(c.Manifests) == 0 {
		return errors.New("no --manifests given: name at least one file or directory of Kubernetes YAML")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)

	defCert, err := certs.GenerateDefault(time.Now())
	if err != nil {
		return fmt.Errorf("generating the default certificate: %w", err)
	}
	dp, err := dataplane.New(dataplane.Options{
		Logger:            log,
		AccessLog:         c.AccessLog,
		Metrics:           m,
		HTTPSRedirectPort: c.HTTPSRedirectPort,
		DefaultCert:       defCert,
	})
	if err != nil {
		return err
	}

	httpLn, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("--http-addr: %w", err)
	}
	httpsLn, err := net.Listen("tcp", c.HTTPSAddr)
	if err != nil {
		httpLn.Close()
		return fmt.Errorf("--https-addr: %w", err)
	}
	adminLn, err := net.Listen("tcp", c.AdminAddr)
	if err != nil {
		httpLn.Close()
		httpsLn.Close()
		return fmt.Errorf("--admin-addr: %w", err)
	}
	addrs := Addrs{HTTP: httpLn.Addr().String(), HTTPS: httpsLn.Addr().String(), Admin: adminLn.Addr().String()}

	st := store.New()
	src := file.New(c.Manifests, st, log)
	if c.HoldOff > 0 {
		src.SetDebounce(c.HoldOff, max(c.MaxDelay, c.HoldOff))
	}
	src.Load()

	var listening atomic.Bool
	loop := &reconcile.Loop{
		Store: st,
		Options: translate.Options{
			IngressClass:          c.IngressClass,
			ControllerClass:       c.ControllerClass,
			WatchWithoutClass:     c.WatchIngressWithoutClass,
			DefaultSSLCertificate: c.DefaultSSLCertificate,
			ConfigMap:             c.ConfigMap,
			AnnotationPrefix:      c.AnnotationsPrefix,
			Certs:                 translate.NewCertCache(),
		},
		Now:      time.Now,
		Apply:    func(cfg *routecfg.Config) error { return dp.Apply(cfg) },
		Log:      log,
		HoldOff:  c.HoldOff,
		MaxDelay: c.MaxDelay,
	}
	ready := func() bool { return loop.Applied() && listening.Load() }
	adm := admin.New(reg, ready)
	loop.Observe = adm.Observe
	// The first pass runs before the listeners serve so that the first
	// request already sees the configuration.
	loop.Once()

	adminSrv := &http.Server{Handler: adm.Handler(), ReadHeaderTimeout: 10 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return src.Run(gctx) })
	g.Go(func() error { return loop.Run(gctx) })
	g.Go(func() error {
		return dp.Serve(gctx, httpLn, httpsLn, func() {
			listening.Store(true)
			log.Info("moat is serving", "http", addrs.HTTP, "https", addrs.HTTPS, "admin", addrs.Admin)
			if c.Ready != nil {
				c.Ready(addrs)
			}
		})
	})
	g.Go(func() error {
		if err := adminSrv.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("admin listener: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return adminSrv.Shutdown(sctx)
	})
	return g.Wait()
}
