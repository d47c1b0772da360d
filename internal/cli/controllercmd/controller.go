// Package controllercmd is `moat controller`: the proxy against the
// Kubernetes API server. Its flags are the ones the Helm chart passes and
// lists (charts/moat moat.knownFlags, checked by cmd/moat's tests), so they
// live in this one folder.
package controllercmd

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/cli"
	"github.com/moat-ingress/moat/internal/translate"
	"github.com/moat-ingress/moat/internal/translate/gateway"
)

func New() *cobra.Command {
	c := app.ControllerConfig{}
	var accessLog bool
	var accessLogFormat string
	var logLevel string
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run as an Ingress controller against the Kubernetes API server (cluster mode)",
		Long: `controller watches Ingress, IngressClass, Service, EndpointSlice and Secret
objects through the API server and serves the Ingresses of its class over
HTTP and HTTPS. Every replica serves traffic; the one holding the Lease
(--election-id, in $POD_NAMESPACE) writes the publish address into each
claimed Ingress's status and reports problems as Warning Events.

It uses the in-cluster configuration when run in a pod, else --kubeconfig,
$KUBECONFIG or ~/.kube/config.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Log = cli.NewLogger(logLevel)
			// client-go logs through klog; send it to the same JSON log.
			klog.SetSlogLogger(c.Log)
			p, err := cli.StartProxy(cmd.OutOrStdout(), c.Log, accessLog, accessLogFormat)
			if err != nil {
				return err
			}
			defer p.Stop()
			c.AccessLogJSON, c.AccessLog, c.Reread = p.AccessLogJSON, p.AccessLog, p.Reread
			return app.Controller(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, then $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&c.IngressClass, "ingress-class", "moat", "serve Ingresses of this class (spec.ingressClassName or the kubernetes.io/ingress.class annotation)")
	f.StringVar(&c.ControllerClass, "controller-class", translate.DefaultControllerClass, "IngressClass spec.controller value that moat claims")
	f.StringVar(&c.GatewayControllerName, "gateway-controller-name", gateway.DefaultControllerName, "GatewayClass spec.controllerName value that moat claims (Gateway API)")
	f.StringVar(&c.GatewayAddressPool, "gateway-address-pool", "", "CIDR (e.g. 10.244.100.0/24) from which each Gateway gets an IP address of its own, on which moat binds that Gateway's listener ports; the addresses must reach this pod (see docs/gateway-api.md). Default: all Gateways share --http-addr and --https-addr")
	f.StringArrayVar(&c.WatchNamespaces, "watch-namespace", nil, "watch only this namespace; repeatable (default: all namespaces)")
	f.BoolVar(&c.WatchIngressWithoutClass, "watch-ingress-without-class", false, "also serve Ingresses that name no class (a default IngressClass of ours claims them anyway)")
	f.StringVar(&c.PublishService, "publish-service", "", "NAMESPACE/NAME of the Service whose address is written into Ingress status")
	f.StringVar(&c.PublishStatusAddress, "publish-status-address", "", "comma-separated IPs or DNS names written into Ingress status (instead of --publish-service)")
	f.StringVar(&c.ConfigMap, "configmap", "", "NAMESPACE/NAME of the controller ConfigMap (ingress-nginx's keys)")
	f.StringVar(&c.TCPServicesConfigMap, "tcp-services-configmap", "", "NAMESPACE/NAME of a ConfigMap of TCP services: keys are ports moat listens on, values NAMESPACE/SERVICE:PORT[:PROXY[:PROXY]] (ingress-nginx's format)")
	f.StringVar(&c.UDPServicesConfigMap, "udp-services-configmap", "", "NAMESPACE/NAME of a ConfigMap of UDP services: keys are ports moat listens on, values NAMESPACE/SERVICE:PORT (ingress-nginx's format)")
	f.StringVar(&c.AnnotationsPrefix, "annotations-prefix", "nginx.ingress.kubernetes.io", "prefix of the ingress-nginx annotations moat reads")
	f.StringVar(&c.DefaultSSLCertificate, "default-ssl-certificate", "", "NAMESPACE/NAME of a Secret served as the default certificate (default: a generated self-signed one)")
	f.StringVar(&c.DefaultBackendService, "default-backend-service", "", "NAMESPACE/NAME of the Service that answers requests no rule matches and the ConfigMap's custom-http-errors (ingress-nginx's upstream-default-backend; default: a built-in 404)")
	f.StringVar(&c.ElectionID, "election-id", "moat-leader", "name of the Lease that elects the replica writing status")
	f.StringVar(&c.HTTPAddr, "http-addr", ":8080", "plain HTTP listener address")
	f.StringVar(&c.HTTPSAddr, "https-addr", ":8443", "HTTPS listener address")
	f.StringVar(&c.AdminAddr, "admin-addr", "127.0.0.1:10254", "admin listener address (/healthz, /readyz, /metrics, /debug); use :10254 for kubelet probes")
	f.StringVar(&c.DebugAddr, "debug-addr", "", "serve /debug/* (and pprof) on this address instead of --admin-addr, which then keeps only /healthz, /readyz and /metrics (e.g. 127.0.0.1:10255)")
	f.IntVar(&c.HTTPSRedirectPort, "https-redirect-port", 443, "HTTPS port used in redirect Locations (omitted when 443)")
	f.BoolVar(&c.EnableSSLPassthrough, "enable-ssl-passthrough", false, "honour the ssl-passthrough annotation: the HTTPS listener reads each ClientHello's SNI and forwards those hosts' TLS unterminated")
	f.BoolVar(&c.HTTP3, "http3", false, "also serve HTTP/3 (QUIC) on the HTTPS port over UDP, with the same routes, certificates and policies, advertised by Alt-Svc on HTTPS responses (beyond ingress-nginx)")
	f.BoolVar(&c.Profiling, "profiling", false, "serve Go's runtime profiles (pprof) under /debug/pprof/ on the admin listener")
	f.BoolVar(&accessLog, "access-log", true, "write one line per request to stdout")
	f.StringVar(&accessLogFormat, "access-log-format", "nginx", "access-log lines: nginx (the ConfigMap's log-format-upstream, ingress-nginx's default format unless set) or json (moat's JSON object per request)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cli.LifecycleFlags(cmd, &c.Lifecycle)
	// The Downward API provides these in a pod (see deploy/deployment.yaml).
	c.ElectionNamespace = envOr("POD_NAMESPACE", "moat-system")
	c.Identity = os.Getenv("POD_NAME")
	return cmd
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
