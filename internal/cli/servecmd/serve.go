// Package servecmd is `moat serve`: the proxy over manifest files, without a
// cluster. Its flags are file mode's; it is apart from controllercmd, whose
// flags the chart checks, so that each mode's flags are read in one place.
package servecmd

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/cli"
	"github.com/moat-ingress/moat/internal/secrets"
	"github.com/moat-ingress/moat/internal/source/file"
	"github.com/moat-ingress/moat/internal/translate"
	"github.com/moat-ingress/moat/internal/translate/gateway"
)

func New() *cobra.Command {
	c := app.ServeConfig{}
	var accessLog bool
	var accessLogFormat string
	var logLevel string
	cmd := &cobra.Command{
		Use:   "serve --manifests PATH",
		Short: "Serve Ingress, Service, EndpointSlice and Secret YAML from files (file mode, no cluster)",
		Long: `serve reads ordinary Kubernetes manifests from files or directories, watches
them, and serves the Ingresses of its class over HTTP and HTTPS. Changes take
effect without a restart; a bad file is reported and left out while the rest
keeps serving.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Log = cli.NewLogger(logLevel)
			if c.SOPSAgeKeyFile == "" {
				// As the sops tool reads it.
				c.SOPSAgeKeyFile = os.Getenv(secrets.EnvAgeKeyFile)
			}
			p, err := cli.StartProxy(cmd.OutOrStdout(), c.Log, accessLog, accessLogFormat)
			if err != nil {
				return err
			}
			defer p.Stop()
			c.AccessLogJSON, c.AccessLog, c.Reread = p.AccessLogJSON, p.AccessLog, p.Reread
			return app.Serve(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&c.Manifests, "manifests", nil, "a manifest file or directory, read recursively (*.yaml, *.yml, *.json); repeatable")
	f.StringVar(&c.HTTPAddr, "http-addr", ":8080", "plain HTTP listener address")
	f.StringVar(&c.HTTPSAddr, "https-addr", ":8443", "HTTPS listener address")
	f.StringVar(&c.AdminAddr, "admin-addr", "127.0.0.1:10254", "admin listener address (/healthz, /readyz, /metrics, /debug)")
	f.StringVar(&c.DebugAddr, "debug-addr", "", "serve /debug/* (and pprof) on this address instead of --admin-addr, which then keeps only /healthz, /readyz and /metrics (e.g. 127.0.0.1:10255)")
	f.Int64Var(&c.MaxManifestBytes, "max-manifest-bytes", file.DefaultMaxBytes, "largest manifest file read; a larger one is reported and its last good content keeps serving")
	f.DurationVar(&c.ManifestSettle, "manifest-settle", file.DefaultSettle, "how long a file changed in place must stay unchanged before it is applied (a file renamed into place applies at once)")
	f.StringVar(&c.IngressClass, "ingress-class", "moat", "serve Ingresses of this class (spec.ingressClassName or the kubernetes.io/ingress.class annotation)")
	f.StringVar(&c.ControllerClass, "controller-class", translate.DefaultControllerClass, "IngressClass spec.controller value that moat claims")
	f.StringVar(&c.GatewayControllerName, "gateway-controller-name", gateway.DefaultControllerName, "GatewayClass spec.controllerName value that moat claims (Gateway API)")
	f.StringVar(&c.GatewayAddressPool, "gateway-address-pool", "", "CIDR (e.g. 10.244.100.0/24) from which each Gateway gets an IP address of its own, on which moat binds that Gateway's listener ports; the addresses must reach this pod (see docs/gateway-api.md). Default: all Gateways share --http-addr and --https-addr")
	f.BoolVar(&c.WatchIngressWithoutClass, "watch-ingress-without-class", true, "also serve Ingresses that name no class")
	f.StringVar(&c.ConfigMap, "configmap", "", "NAMESPACE/NAME of the controller ConfigMap (ingress-nginx's keys; one of the manifests)")
	f.StringVar(&c.TCPServicesConfigMap, "tcp-services-configmap", "", "NAMESPACE/NAME of a ConfigMap of TCP services: keys are ports moat listens on, values NAMESPACE/SERVICE:PORT[:PROXY[:PROXY]] (ingress-nginx's format; one of the manifests)")
	f.StringVar(&c.UDPServicesConfigMap, "udp-services-configmap", "", "NAMESPACE/NAME of a ConfigMap of UDP services: keys are ports moat listens on, values NAMESPACE/SERVICE:PORT (ingress-nginx's format; one of the manifests)")
	f.StringVar(&c.AnnotationsPrefix, "annotations-prefix", "nginx.ingress.kubernetes.io", "prefix of the ingress-nginx annotations moat reads")
	f.StringVar(&c.DefaultSSLCertificate, "default-ssl-certificate", "", "NAMESPACE/NAME of a Secret served as the default certificate (default: a generated self-signed one)")
	f.StringVar(&c.DefaultBackendService, "default-backend-service", "", "NAMESPACE/NAME of the Service that answers requests no rule matches and the ConfigMap's custom-http-errors (ingress-nginx's upstream-default-backend; default: a built-in 404)")
	f.IntVar(&c.HTTPSRedirectPort, "https-redirect-port", 443, "HTTPS port used in redirect Locations (omitted when 443)")
	f.BoolVar(&c.EnableSSLPassthrough, "enable-ssl-passthrough", false, "honour the ssl-passthrough annotation: the HTTPS listener reads each ClientHello's SNI and forwards those hosts' TLS unterminated")
	f.BoolVar(&c.HTTP3, "http3", false, "also serve HTTP/3 (QUIC) on the HTTPS port over UDP, with the same routes, certificates and policies, advertised by Alt-Svc on HTTPS responses (beyond ingress-nginx)")
	f.BoolVar(&c.Profiling, "profiling", false, "serve Go's runtime profiles (pprof) under /debug/pprof/ on the admin listener")
	f.StringVar(&c.SOPSAgeKeyFile, "sops-age-key-file", "", "age identities file that opens SOPS-encrypted manifests (default: $SOPS_AGE_KEY_FILE); decrypted in memory only")
	f.StringVar(&c.SealedSecretsKey, "sealed-secrets-key", "", "PEM private key(s) of the sealed-secrets controller's sealing key pair, to open SealedSecret objects in memory")
	f.BoolVar(&accessLog, "access-log", true, "write one line per request to stdout")
	f.StringVar(&accessLogFormat, "access-log-format", "nginx", "access-log lines: nginx (the ConfigMap's log-format-upstream, ingress-nginx's default format unless set) or json (moat's JSON object per request)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cli.LifecycleFlags(cmd, &c.Lifecycle)
	_ = cmd.MarkFlagRequired("manifests")
	return cmd
}
