package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/moat-ingress/moat/internal/admin"
	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/source/kube"
	"github.com/moat-ingress/moat/internal/status"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
	"github.com/moat-ingress/moat/internal/translate/gateway"
	"github.com/moat-ingress/moat/internal/waf"
)

// ControllerConfig is everything `moat controller` takes.
type ControllerConfig struct {
	Listen
	// Kubeconfig is a kubeconfig file; empty means in-cluster, then the
	// usual KUBECONFIG / ~/.kube/config. RestConfig, when set, wins (tests).
	Kubeconfig string
	RestConfig *rest.Config

	// WatchNamespaces limits Ingress, Service, EndpointSlice and Secret to
	// these namespaces; empty means all.
	WatchNamespaces       []string
	IngressClass          string
	ControllerClass       string
	GatewayControllerName string
	// GatewayAddressPool is --gateway-address-pool: a CIDR from which
	// each Gateway gets an address of its own; "" shares --http-addr and
	// --https-addr.
	GatewayAddressPool       string
	WatchIngressWithoutClass bool
	DefaultSSLCertificate    string
	// DefaultBackendService is --default-backend-service, "namespace/name";
	// its namespace's Services and EndpointSlices are watched too.
	DefaultBackendService string
	// ConfigMap is the controller ConfigMap, "namespace/name";
	// AnnotationsPrefix replaces nginx.ingress.kubernetes.io.
	ConfigMap         string
	AnnotationsPrefix string
	// TCPServicesConfigMap and UDPServicesConfigMap are "namespace/name"
	// of ingress-nginx's tcp-services and udp-services ConfigMaps
	// (--tcp-services-configmap, --udp-services-configmap).
	TCPServicesConfigMap, UDPServicesConfigMap string

	// PublishService ("namespace/name") or PublishStatusAddress (a comma-
	// separated list) is written into status.loadBalancer.ingress.
	PublishService       string
	PublishStatusAddress string

	// ElectionID names the Lease in ElectionNamespace; Identity is this
	// replica's holder identity.
	ElectionID        string
	ElectionNamespace string
	Identity          string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// zero means 15 s, 10 s and 2 s (client-go's usual values).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// KeepLeaseOnExit skips releasing the Lease on shutdown, as a crash
	// would; tests use it to check failover by expiry.
	KeepLeaseOnExit bool

	Log       *slog.Logger
	AccessLog io.Writer
	// Ready, when set, is called once with the bound addresses after the
	// caches synced, the first configuration is applied and the listeners
	// accept.
	Ready func(Addrs)
	// HoldOff and MaxDelay tune the reconcile hold-off; zero means the
	// defaults (100 ms / 500 ms).
	HoldOff, MaxDelay time.Duration
	// Lifecycle: shutdown phases and SIGHUP (lifecycle.go).
	Lifecycle
}

// Controller runs moat in cluster mode until ctx is done: informers fill
// the store, the reconcile loop feeds the data plane on every replica, and
// the replica holding the Lease writes Ingress status and Events.
func Controller(ctx context.Context, c ControllerConfig) error {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	err := c.validate()
	if err != nil {
		return err
	}
	pool, err := parseAddressPool(c.GatewayAddressPool)
	if err != nil {
		return err
	}
	var static status.Static
	if c.PublishStatusAddress != "" {
		if static, err = status.ParseStatic(c.PublishStatusAddress); err != nil {
			return err
		}
	}
	restCfg, err := c.restConfig()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	gwClient, err := gatewayclient.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("gateway API client: %w", err)
	}

	l := c.Listen
	l.Metrics = metricsLabels(c.ElectionNamespace, c.ControllerClass, c.identity())
	p, err := newPlane(l, log, c.AccessLog)
	if err != nil {
		return err
	}

	st := store.New()
	var secretNSs []string
	if ns, _, ok := strings.Cut(c.DefaultSSLCertificate, "/"); ok {
		secretNSs = append(secretNSs, ns)
	}
	var serviceNSs []string
	if ns, _, ok := strings.Cut(c.DefaultBackendService, "/"); ok {
		serviceNSs = append(serviceNSs, ns)
	}
	var configMaps []string
	for _, cm := range []string{c.ConfigMap, c.TCPServicesConfigMap, c.UDPServicesConfigMap} {
		if cm != "" && !slices.Contains(configMaps, cm) {
			configMaps = append(configMaps, cm)
		}
	}
	src, err := kube.New(kube.Options{Client: client, Store: st, Log: log, Namespaces: c.WatchNamespaces, SecretNamespaces: secretNSs, ServiceNamespaces: serviceNSs, ConfigMaps: configMaps,
		AnnotationPrefix: c.AnnotationsPrefix, Gateway: gwClient})
	if err != nil {
		p.close()
		return err
	}
	opts := translate.Options{
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
	}
	loop := &reconcile.Loop{
		Store:   st,
		Options: opts,
		Now:     time.Now,
		Apply:   func(cfg *routecfg.Config) error { return p.dp.Apply(cfg) },
		// Endpoint-only changes update the pools without translate.
		ApplyEndpoints: p.dp.ApplyEndpoints,
		Log:            log,
		HoldOff:        c.HoldOff,
		MaxDelay:       c.MaxDelay,
	}

	broadcaster := record.NewBroadcaster(record.WithContext(context.WithoutCancel(ctx)), record.WithCorrelatorOptions(record.CorrelatorOptions{
		// De-duplication happens in the writer; the correlator's
		// per-object budget (25 by default) only needs to absorb bursts.
		BurstSize: 100, QPS: 1.0 / 30,
	}))
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})

	var publish status.Addresses
	var publishSvc *status.ServiceAddresses
	switch {
	case c.PublishStatusAddress != "":
		publish = static
	case c.PublishService != "":
		ns, name, _ := strings.Cut(c.PublishService, "/")
		publishSvc = status.NewServiceAddresses(client, ns, name, log)
		publish = publishSvc
	default:
		log.Info("neither --publish-service nor --publish-status-address is set: Ingress status is left alone")
	}
	so := status.Options{
		Client:     client,
		Gateway:    gwClient,
		Addresses:  publish,
		Recorder:   broadcaster.NewRecorder(eventScheme(), corev1.EventSource{Component: "moat", Host: c.Identity}),
		Translate:  opts,
		Log:        log,
		Registerer: p.reg,
	}
	if pool.IsValid() {
		so.ListenerError = p.dp.ListenerError
	}
	writer := status.New(so)
	if publishSvc != nil {
		publishSvc.OnChange(writer.Kick)
	}

	ready := func() bool { return src.HasSynced() && loop.Applied() && p.listening.Load() }
	adm := admin.New(p.reg, ready)
	adm.SetGatewayStatus(func(sn *store.Snapshot) string { return gateway.Dump(translate.GatewayStatus(sn, opts)) })
	loop.Observe = func(r reconcile.Result) {
		adm.Observe(r)
		writer.Observe(r)
	}

	stop, g, gctx := newStopper(ctx, p, adm, log, c.Lifecycle, shutdownTimeout(c.ShutdownTimeout, st, opts))
	g.Go(func() error {
		return reread(gctx, c.Reread, log, "controller ConfigMap", func() { src.Reread(gctx) })
	})
	// The admin listener starts first so that /healthz answers while the
	// caches sync; /readyz stays 503 until the first configuration.
	p.serveAdmin(g, gctx, adm)
	g.Go(func() error { return src.Run(gctx) })
	if publishSvc != nil {
		g.Go(func() error { return publishSvc.Run(gctx) })
	}
	p.metrics.SetLeader(c.ElectionID, false)
	lead := func(ctx context.Context) {
		p.metrics.SetLeader(c.ElectionID, true)
		defer p.metrics.SetLeader(c.ElectionID, false)
		writer.Lead(ctx)
	}
	g.Go(func() error { return c.elect(gctx, restCfg, log, lead) })
	g.Go(func() error {
		if err := src.WaitForSync(gctx); err != nil {
			if gctx.Err() != nil {
				// Stopped before the caches synced: the traffic
				// listeners never served.
				p.httpLn.Close()
				p.httpsLn.Close()
				return nil
			}
			return err
		}
		// As in serve: the first pass runs before the listeners serve so
		// that the first request already sees the configuration.
		loop.Once()
		g.Go(func() error { return loop.Run(gctx) })
		p.serveTraffic(g, stop.traffic, c.Ready)
		return nil
	})
	return g.Wait()
}

func (c *ControllerConfig) validate() error {
	if c.PublishService != "" && c.PublishStatusAddress != "" {
		return errors.New("--publish-service and --publish-status-address are exclusive: set one")
	}
	if c.PublishService != "" && !isNamespacedName(c.PublishService) {
		return fmt.Errorf("--publish-service %q: want NAMESPACE/NAME", c.PublishService)
	}
	if c.DefaultSSLCertificate != "" && !isNamespacedName(c.DefaultSSLCertificate) {
		return fmt.Errorf("--default-ssl-certificate %q: want NAMESPACE/NAME", c.DefaultSSLCertificate)
	}
	if c.DefaultBackendService != "" && !isNamespacedName(c.DefaultBackendService) {
		return fmt.Errorf("--default-backend-service %q: want NAMESPACE/NAME", c.DefaultBackendService)
	}
	if c.ConfigMap != "" && !isNamespacedName(c.ConfigMap) {
		return fmt.Errorf("--configmap %q: want NAMESPACE/NAME", c.ConfigMap)
	}
	for _, f := range []struct{ flag, v string }{{"--tcp-services-configmap", c.TCPServicesConfigMap}, {"--udp-services-configmap", c.UDPServicesConfigMap}} {
		if f.v != "" && !isNamespacedName(f.v) {
			return fmt.Errorf("%s %q: want NAMESPACE/NAME", f.flag, f.v)
		}
	}
	if c.ElectionID == "" {
		return errors.New("--election-id is empty")
	}
	for _, ns := range c.WatchNamespaces {
		if ns == "" {
			return errors.New("--watch-namespace: empty namespace name (omit the flag to watch all namespaces)")
		}
	}
	return nil
}

func isNamespacedName(s string) bool {
	ns, name, ok := strings.Cut(s, "/")
	return ok && ns != "" && name != "" && !strings.Contains(name, "/")
}

// restConfig loads the client configuration: an explicit kubeconfig, else
// in-cluster, else the usual kubeconfig locations.
func (c *ControllerConfig) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	switch {
	case c.RestConfig != nil:
		cfg = rest.CopyConfig(c.RestConfig)
	case c.Kubeconfig != "":
		if cfg, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", c.Kubeconfig, err)
		}
	default:
		if cfg, err = rest.InClusterConfig(); err != nil {
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
			if err != nil {
				return nil, fmt.Errorf("no in-cluster configuration and no usable kubeconfig (set --kubeconfig or KUBECONFIG): %w", err)
			}
		}
	}
	cfg.UserAgent = "moat/" + c.identity()
	// client-go's default 5 QPS would make status writes for many
	// Ingresses crawl after a leader change.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 20, 40
	}
	return cfg, nil
}

func (c *ControllerConfig) identity() string {
	if c.Identity != "" {
		return c.Identity
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "moat"
}

// elect campaigns for the Lease until ctx is done and runs lead while this
// replica holds it. Losing the Lease (the API server away longer than the
// renew deadline) stops lead and campaigns again; serving is unaffected.
func (c *ControllerConfig) elect(ctx context.Context, restCfg *rest.Config, log *slog.Logger, lead func(context.Context)) error {
	lease, renew, retry := c.LeaseDuration, c.RenewDeadline, c.RetryPeriod
	if lease <= 0 {
		lease = 15 * time.Second
	}
	if renew <= 0 {
		renew = 10 * time.Second
	}
	if retry <= 0 {
		retry = 2 * time.Second
	}
	ns := c.ElectionNamespace
	if ns == "" {
		ns = "moat-system"
	}
	// A client of its own whose timeout is below the renew deadline, so
	// that one hung request cannot cost the lease (as client-go's
	// resourcelock.NewFromKubeconfig does).
	cfg := rest.CopyConfig(restCfg)
	cfg.Timeout = max(renew/2, time.Second)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("leader election client: %w", err)
	}
	id := c.identity()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: c.ElectionID},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   lease,
			RenewDeadline:   renew,
			RetryPeriod:     retry,
			ReleaseOnCancel: !c.KeepLeaseOnExit,
			Name:            c.ElectionID,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					log.Info("leading: writing Ingress status and events", "lease", ns+"/"+c.ElectionID, "identity", id)
					lead(lctx)
				},
				OnStoppedLeading: func() {
					if ctx.Err() == nil {
						log.Warn("lost the lease; campaigning again", "lease", ns+"/"+c.ElectionID, "identity", id)
					}
				},
				OnNewLeader: func(holder string) {
					log.Info("leader elected", "lease", ns+"/"+c.ElectionID, "leader", holder, "self", holder == id)
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		// Run returns when ctx is done or the lease is lost; lead's
		// context ends with it.
		le.Run(ctx)
	}
	return nil
}

// eventScheme is client-go's scheme plus the Gateway API types, so that
// Events can name a Gateway or an HTTPRoute (their involvedObject).
func eventScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = scheme.AddToScheme(s)
	_ = gatewayv1.Install(s)
	return s
}

// parseAddressPool parses --gateway-address-pool ("" is no pool).
func parseAddressPool(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--gateway-address-pool %q: want a CIDR such as 10.244.100.0/24", s)
	}
	return p.Masked(), nil
}
