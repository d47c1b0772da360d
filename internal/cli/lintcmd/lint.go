// Package lintcmd is `moat lint`: flags, output formats and exit statuses
// around internal/lint, and the cluster connection of the migration report
// (--kubeconfig). It is apart from internal/lint, which knows nothing of
// flags or kubeconfig files.
package lintcmd

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/moat-ingress/moat/internal/cli"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/lint"
	"github.com/moat-ingress/moat/internal/lint/cluster"
	"github.com/moat-ingress/moat/internal/secrets"
	"github.com/moat-ingress/moat/internal/translate"
)

func New() *cobra.Command {
	var opts lint.Options
	var output, failOn string
	var strict bool
	var cl clusterFlags
	cmd := &cobra.Command{
		Use:   "lint PATH... | lint --kubeconfig FILE [--namespace NS | --all-namespaces]",
		Short: "Check Ingress, Service and Secret manifests, or a cluster's Ingresses, before moat serves them",
		Long: `lint reads manifests from files, directories (recursively: *.yaml, *.yml,
*.json) or stdin ("-"), and reports everything moat would report when serving
them, each with a stable code, the file and line, and a hint: removed API
versions, split or incomplete tls entries, Secrets that are missing or in
another namespace, certificate problems, unknown annotations, placeholders
left in hosts, conflicting paths, and more. docs/diagnostics.md explains
every code.

Without --ingress-class every class the manifests name is checked as if moat
served it, so manifests written for ingress-nginx need no flag. A private key
in a Secret in plain text is a warning (PlainPrivateKey: encrypt it with moat
secret tls --encrypt or --seal); SOPS files and SealedSecrets are opened with
--sops-age-key-file and --sealed-secrets-key, as serve opens them. Every Ingress
that moat run with --ingress-class (default moat) and --controller-class
would leave unserved is reported (IngressNotServed), naming its class.

For CI: Secrets that cert-manager will create (the Ingress carries
cert-manager.io/issuer or cert-manager.io/cluster-issuer, or a Certificate in
the input names them) are not errors; Services are judged for endpoints only
when the input holds EndpointSlices or Endpoints; -o sarif and -o github put
the findings on the lines of a pull request.

With --kubeconfig, lint reads the live objects of a cluster instead and
prints a migration report: for each Ingress, the annotations moat does not
support or supports only partly, the diagnostics, and whether it will work
on moat (or is not served at all, with the class given); with --configmap,
the controller ConfigMap's keys moat does not apply as written; then one certificate health section (weak keys, expired or soon
expiring certificates, certificates not covering their hosts, ...); then a
summary. It only reads (list and get), with your
credentials, including Secrets, to check certificates.

Exit status: 1 when a finding of --fail-on's severity or worse is found
(default error; --strict is --fail-on warning), 0 otherwise.`,
		Example: `  moat lint examples/blog-post/as-written
  kubectl get ingress,service,secret -A -o yaml | moat lint -
  moat lint -o json manifests/ | jq '.diagnostics[] | select(.severity == "error")'
  moat lint --fail-on warning -o github deploy/
  moat lint -o sarif deploy/ > moat-lint.sarif
  moat lint --kubeconfig ~/.kube/config --all-namespaces --ingress-class nginx --controller-class k8s.io/ingress-nginx`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cl.kubeconfig != "" {
				if len(args) > 0 {
					return fmt.Errorf("give either paths or --kubeconfig, not both")
				}
				return nil
			}
			if cl.namespace != "" || cl.all || cl.context != "" {
				return fmt.Errorf("--namespace, --all-namespaces and --context need --kubeconfig")
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "json", "sarif", "github":
			default:
				return fmt.Errorf("-o %q: use text, json, sarif or github", output)
			}
			failAt := diag.Error
			switch {
			case failOn == "error" && !strict:
			case failOn == "warning" || strict:
				failAt = diag.Warning
			default:
				return fmt.Errorf("--fail-on %q: use error or warning", failOn)
			}
			opts.Now = time.Now()
			out := cmd.OutOrStdout()
			var r *lint.Result
			var err error
			if cl.kubeconfig != "" {
				if r, err = cl.lint(cmd.Context(), opts); err != nil {
					return err
				}
				m := r.Migration(opts.AnnotationPrefix)
				switch output {
				case "json":
					err = lint.WriteMigrationJSON(out, m)
				case "sarif":
					err = lint.WriteSARIF(out, r)
				case "github":
					err = lint.WriteGitHub(out, r)
				default:
					err = lint.WriteMigrationText(out, m)
				}
			} else {
				if r, err = lint.Run(args, cmd.InOrStdin(), opts); err != nil {
					return err
				}
				switch output {
				case "json":
					err = lint.WriteJSON(out, r)
				case "sarif":
					err = lint.WriteSARIF(out, r)
				case "github":
					err = lint.WriteGitHub(out, r)
				default:
					err = lint.WriteText(out, r)
				}
			}
			if err != nil {
				return err
			}
			if r.FailedAt(failAt) {
				what := "errors"
				if failAt == diag.Warning {
					what = "errors or warnings (--fail-on warning)"
				}
				return &cli.ExitError{Code: 1, Msg: "lint found " + what}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "text", "output format: text, json, sarif (SARIF 2.1.0 for code scanning) or github (GitHub Actions annotations)")
	f.StringVar(&failOn, "fail-on", "error", "exit 1 on findings of this severity or worse: error or warning")
	f.BoolVar(&strict, "strict", false, "exit 1 on warnings too (same as --fail-on warning)")
	f.StringVar(&opts.IngressClass, "ingress-class", "", "the class moat runs with: check Ingresses as this class only (default: every class the manifests name), and report those it leaves unserved (default: those moat's default class moat leaves)")
	f.StringVar(&opts.ControllerClass, "controller-class", translate.DefaultControllerClass, "IngressClass spec.controller value that moat claims")
	f.BoolVar(&opts.WatchWithoutClass, "watch-ingress-without-class", true, "also check Ingresses that name no class")
	f.StringVar(&opts.DefaultSSLCertificate, "default-ssl-certificate", "", "NAMESPACE/NAME of the Secret serve would use as the default certificate")
	f.StringVar(&opts.DefaultBackendService, "default-backend-service", "", "NAMESPACE/NAME of the Service serve would send unmatched requests and the ConfigMap's custom-http-errors to")
	f.StringVar(&opts.AnnotationPrefix, "annotations-prefix", "nginx.ingress.kubernetes.io", "prefix of the annotations moat reads")
	f.BoolVar(&opts.EnableSSLPassthrough, "enable-ssl-passthrough", false, "honour the ssl-passthrough annotation, as serve would with this flag")
	f.StringVar(&cl.kubeconfig, "kubeconfig", "", "read the Ingresses of the cluster this kubeconfig file names, and print a migration report")
	f.StringVar(&cl.context, "context", "", "kubeconfig context to use (default: the current one)")
	f.StringVarP(&cl.namespace, "namespace", "n", "", "namespace to read (default: the context's, else default)")
	f.BoolVarP(&cl.all, "all-namespaces", "A", false, "read every namespace")
	f.StringVar(&opts.SOPSAgeKeyFile, "sops-age-key-file", os.Getenv(secrets.EnvAgeKeyFile), "age identities file that opens SOPS-encrypted manifests, as serve's flag (default: $SOPS_AGE_KEY_FILE)")
	f.StringVar(&opts.SealedSecretsKey, "sealed-secrets-key", "", "PEM private key(s) that open SealedSecrets, as serve's flag")
	f.StringVar(&opts.TCPServices, "tcp-services-configmap", "", "NAMESPACE/NAME of the tcp-services ConfigMap in the manifests, whose entries are checked as serve would")
	f.StringVar(&opts.UDPServices, "udp-services-configmap", "", "NAMESPACE/NAME of the udp-services ConfigMap in the manifests, whose entries are checked as serve would")
	f.StringVar(&opts.ConfigMap, "configmap", "", "NAMESPACE/NAME of the controller ConfigMap (in the manifests, or with --kubeconfig in the cluster: ingress-nginx's, for the migration report) whose settings apply")
	return cmd
}

// clusterFlags select the cluster and namespaces of a migration report.
type clusterFlags struct {
	kubeconfig, context, namespace string
	all                            bool
}

func (c clusterFlags) lint(ctx context.Context, opts lint.Options) (*lint.Result, error) {
	if c.all && c.namespace != "" {
		return nil, fmt.Errorf("give either --namespace or --all-namespaces")
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: c.kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: c.context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", c.kubeconfig, err)
	}
	ns := c.namespace
	if ns == "" && !c.all {
		if ns, _, err = loader.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	objs, err := cluster.List(ctx, client, ns, opts.ConfigMap, opts.TCPServices, opts.UDPServices)
	if err != nil {
		return nil, err
	}
	return lint.RunObjects(objs, opts), nil
}
