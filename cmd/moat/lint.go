package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/moat-ingress/moat/internal/lint"
	"github.com/moat-ingress/moat/internal/secrets"
	"github.com/moat-ingress/moat/internal/translate"
)

func newLintCmd() *cobra.Command {
	var opts lint.Options
	var output string
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
--sops-age-key-file and --sealed-secrets-key, as serve opens them.

With --kubeconfig, lint reads the live objects of a cluster instead and
prints a migration report: for each Ingress, the annotations moat does not
support or supports only partly, the diagnostics, and whether it will work
on moat; then one certificate health section (weak keys, expired or soon
expiring certificates, certificates not covering their hosts, ...); then a
summary. It only reads (list and get), with your
credentials, including Secrets, to check certificates.

Exit status: 1 when an error is found (with --strict, a warning too), 0 otherwise.`,
		Example: `  moat lint examples/blog-post/as-written
  kubectl get ingress,service,secret -A -o yaml | moat lint -
  moat lint -o json manifests/ | jq '.diagnostics[] | select(.severity == "error")'
  moat lint --kubeconfig ~/.kube/config --all-namespaces --ingress-class nginx`,
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
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %q: use text or json", output)
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
				if output == "json" {
					err = lint.WriteMigrationJSON(out, m)
				} else {
					err = lint.WriteMigrationText(out, m)
				}
			} else {
				if r, err = lint.Run(args, cmd.InOrStdin(), opts); err != nil {
					return err
				}
				if output == "json" {
					err = lint.WriteJSON(out, r)
				} else {
					err = lint.WriteText(out, r)
				}
			}
			if err != nil {
				return err
			}
			if r.Failed(strict) {
				what := "errors"
				if strict {
					what = "errors or warnings (--strict)"
				}
				return &exitError{code: 1, msg: "lint found " + what}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&strict, "strict", false, "exit 1 on warnings too")
	f.StringVar(&opts.IngressClass, "ingress-class", "", "check Ingresses as this class only, as serve would (default: every class the manifests name)")
	f.StringVar(&opts.ControllerClass, "controller-class", translate.DefaultControllerClass, "IngressClass spec.controller value that moat claims")
	f.BoolVar(&opts.WatchWithoutClass, "watch-ingress-without-class", true, "also check Ingresses that name no class")
	f.StringVar(&opts.DefaultSSLCertificate, "default-ssl-certificate", "", "NAMESPACE/NAME of the Secret serve would use as the default certificate")
	f.StringVar(&opts.AnnotationPrefix, "annotations-prefix", "nginx.ingress.kubernetes.io", "prefix of the annotations moat reads")
	f.BoolVar(&opts.EnableSSLPassthrough, "enable-ssl-passthrough", false, "honour the ssl-passthrough annotation, as serve would with this flag")
	f.StringVar(&cl.kubeconfig, "kubeconfig", "", "read the Ingresses of the cluster this kubeconfig file names, and print a migration report")
	f.StringVar(&cl.context, "context", "", "kubeconfig context to use (default: the current one)")
	f.StringVarP(&cl.namespace, "namespace", "n", "", "namespace to read (default: the context's, else default)")
	f.BoolVarP(&cl.all, "all-namespaces", "A", false, "read every namespace")
	f.StringVar(&opts.SOPSAgeKeyFile, "sops-age-key-file", os.Getenv(secrets.EnvAgeKeyFile), "age identities file that opens SOPS-encrypted manifests, as serve's flag (default: $SOPS_AGE_KEY_FILE)")
	f.StringVar(&opts.SealedSecretsKey, "sealed-secrets-key", "", "PEM private key(s) that open SealedSecrets, as serve's flag")
	f.StringVar(&opts.ConfigMap, "configmap", "", "NAMESPACE/NAME of the controller ConfigMap (in the manifests) whose settings apply")
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
	objs, err := lint.FromCluster(ctx, client, ns, opts.ConfigMap)
	if err != nil {
		return nil, err
	}
	return lint.RunObjects(objs, opts), nil
}
