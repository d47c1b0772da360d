// Package app wires moat's components for the serve and controller
// commands: a source (files or informers), the store, the reconcile loop,
// the data plane and the admin listener, run together in one errgroup. cmd/moat only parses flags; tests
// start the same wiring in-process on loopback ports.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/moat-ingress/moat/internal/admin"
	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/secrets"
	"github.com/moat-ingress/moat/internal/source/file"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
	"github.com/moat-ingress/moat/internal/translate/gateway"
	"github.com/moat-ingress/moat/internal/waf"
)

// ServeConfig is everything `moat serve` takes.
type ServeConfig struct {
	Manifests             []string
	HTTPAddr, HTTPSAddr   string
	AdminAddr             string
	DebugAddr             string
	IngressClass          string
	ControllerClass       string
	GatewayControllerName string
	// GatewayAddressPool is --gateway-address-pool (see ControllerConfig).
	GatewayAddressPool       string
	WatchIngressWithoutClass bool
	DefaultSSLCertificate    string
	// DefaultBackendService is --default-backend-service, "namespace/name".
	DefaultBackendService string
	HTTPSRedirectPort     int
	EnableSSLPassthrough  bool
	// HTTP3 serves HTTP/3 on the HTTPS port over UDP (--http3).
	HTTP3 bool
	// Profiling serves /debug/pprof/ on the admin listener.
	Profiling bool
	// ConfigMap is the controller ConfigMap, "namespace/name" (one of the
	// manifests); AnnotationsPrefix replaces nginx.ingress.kubernetes.io.
	ConfigMap         string
	AnnotationsPrefix string
	// TCPServicesConfigMap and UDPServicesConfigMap are "namespace/name"
	// of ingress-nginx's tcp-services and udp-services ConfigMaps
	// (--tcp-services-configmap, --udp-services-configmap).
	TCPServicesConfigMap, UDPServicesConfigMap string
	// SOPSAgeKeyFile opens SOPS-encrypted manifests (age identities);
	// SealedSecretsKey opens SealedSecrets (the sealing key pair's private
	// key, PEM). Both are read on each use, in memory only.
	SOPSAgeKeyFile   string
	SealedSecretsKey string

	// Log receives operational logs; AccessLog one line per request
	// (log-format-upstream, or moat's JSON with AccessLogJSON).
	Log           *slog.Logger
	AccessLog     io.Writer
	AccessLogJSON bool
	// Ready, when set, is called once with the bound addresses after the
	// first configuration is applied and the listeners accept.
	Ready func(Addrs)
	// HoldOff and MaxDelay tune change coalescing (the file debounce and
	// the reconcile loop's trailing hold-off); zero means the defaults
	// (file: 10 ms / 500 ms; reconcile: 100 ms / 500 ms).
	HoldOff, MaxDelay time.Duration
	// Lifecycle: shutdown phases and SIGHUP (lifecycle.go).
	Lifecycle
	// MaxManifestBytes caps a manifest file (0: file.DefaultMaxBytes);
	// ManifestSettle is how long a file changed in place must stay
	// unchanged before it is applied (0: file.DefaultSettle; negative:
	// at once).
	MaxManifestBytes int64
	ManifestSettle   time.Duration
}

// Addrs are the bound listener addresses (useful with port 0).
type Addrs struct {
	HTTP, HTTPS, Admin string
	// Debug is the --debug-addr listener's address, "" without one.
	Debug string
}

// Serve runs moat in file mode until ctx is done, then shuts down in
// phases (Lifecycle).
func Serve(ctx context.Context, c ServeConfig) error {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(c.Manifests) == 0 {
		return errors.New("no --manifests given: name at least one file or directory of Kubernetes YAML")
	}
	// A path missing at start is a mistake (a typo, an unmounted volume),
	// not an empty configuration: refuse to start rather than turn ready
	// serving nothing. One that disappears later keeps its last good
	// objects (the file source).
	for _, m := range c.Manifests {
		if _, err := os.Stat(m); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("--manifests %s: no such file or directory", m)
			}
			return fmt.Errorf("--manifests %s: %w", m, err)
		}
	}
	pool, err := parseAddressPool(c.GatewayAddressPool)
	if err != nil {
		return err
	}
	p, err := newPlane(Listen{HTTPAddr: c.HTTPAddr, HTTPSAddr: c.HTTPSAddr, AdminAddr: c.AdminAddr, DebugAddr: c.DebugAddr, HTTPSRedirectPort: c.HTTPSRedirectPort,
		EnableSSLPassthrough: c.EnableSSLPassthrough, HTTP3: c.HTTP3, Profiling: c.Profiling, AccessLogJSON: c.AccessLogJSON,
		Metrics: metricsLabels(os.Getenv("POD_NAMESPACE"), c.ControllerClass, os.Getenv("POD_NAME"))}, log, c.AccessLog)
	if err != nil {
		return err
	}

	st := store.New()
	settle := c.ManifestSettle
	if settle == 0 {
		settle = file.DefaultSettle
	}
	src := file.New(c.Manifests, st, log, file.WithDecrypter(&secrets.Opener{AgeKeyFile: c.SOPSAgeKeyFile, SealingKeyFile: c.SealedSecretsKey}),
		file.WithMaxBytes(c.MaxManifestBytes), file.WithSettle(settle))
	if c.HoldOff > 0 {
		src.SetDebounce(c.HoldOff, max(c.MaxDelay, c.HoldOff))
	}
	src.Load()

	loop := &reconcile.Loop{
		Store: st,
		Options: translate.Options{
			IngressClass:          c.IngressClass,
			ControllerClass:       c.ControllerClass,
			GatewayControllerName: c.GatewayControllerName,
			GatewayAddressPool:    pool,
			WatchWithoutClass:     c.WatchIngressWithoutClass,
			DefaultSSLCertificate: c.DefaultSSLCertificate,
			DefaultBackendService: c.DefaultBackendService,
			ConfigMap:             c.ConfigMap,
			AnnotationPrefix:      c.AnnotationsPrefix,
			Certs:                 translate.NewCertCache(),
			WAF:                   waf.NewCache(),
			EnableSSLPassthrough:  c.EnableSSLPassthrough,
			Listeners:             translate.Listeners{HTTP: p.addrs.HTTP, HTTPS: p.addrs.HTTPS, Admin: p.addrs.Admin, Debug: p.addrs.Debug},
			TCPServices:           c.TCPServicesConfigMap,
			UDPServices:           c.UDPServicesConfigMap,
		},
		Now:   time.Now,
		Apply: func(cfg *routecfg.Config) error { return p.dp.Apply(cfg) },
		// Endpoint-only changes update the pools without translate.
		ApplyEndpoints: p.dp.ApplyEndpoints,
		Log:            log,
		HoldOff:        c.HoldOff,
		MaxDelay:       c.MaxDelay,
	}
	ready := func() bool { return loop.Applied() && p.listening.Load() }
	adm := admin.New(p.reg, ready)
	loop.Observe = adm.Observe
	adm.SetGatewayStatus(func(sn *store.Snapshot) string {
		return gateway.Dump(translate.GatewayStatus(sn, loop.Options))
	})
	// The first pass runs before the listeners serve so that the first
	// request already sees the configuration.
	loop.Once()

	stop, g, gctx := newStopper(ctx, p, adm, log, c.Lifecycle, shutdownTimeout(c.ShutdownTimeout, st, loop.Options))
	g.Go(func() error { return src.Run(gctx) })
	g.Go(func() error { return loop.Run(gctx) })
	g.Go(func() error { return reread(gctx, c.Reread, log, "manifests", src.Reread) })
	p.serveTraffic(g, stop.traffic, c.Ready)
	p.serveAdmin(g, gctx, adm)
	return g.Wait()
}
