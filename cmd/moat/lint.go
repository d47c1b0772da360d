package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/moat-ingress/moat/internal/lint"
	"github.com/moat-ingress/moat/internal/translate"
)

func newLintCmd() *cobra.Command {
	var opts lint.Options
	var output string
	var strict bool
	cmd := &cobra.Command{
		Use:   "lint PATH...",
		Short: "Check Ingress, Service and Secret manifests before they meet a cluster",
		Long: `lint reads manifests from files, directories (recursively: *.yaml, *.yml,
*.json) or stdin ("-"), and reports everything moat would report when serving
them, each with a stable code, the file and line, and a hint: removed API
versions, split or incomplete tls entries, Secrets that are missing or in
another namespace, certificate problems, unknown annotations, placeholders
left in hosts, conflicting paths, and more. docs/diagnostics.md explains
every code.

Without --ingress-class every class the manifests name is checked as if moat
served it, so manifests written for ingress-nginx need no flag.

Exit status: 1 when an error is found (with --strict, a warning too), 0 otherwise.`,
		Example: `  moat lint examples/blog-post/as-written
  kubectl get ingress,service,secret -A -o yaml | moat lint -
  moat lint -o json manifests/ | jq '.diagnostics[] | select(.severity == "error")'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %q: use text or json", output)
			}
			opts.Now = time.Now()
			r, err := lint.Run(args, cmd.InOrStdin(), opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				err = lint.WriteJSON(out, r)
			} else {
				err = lint.WriteText(out, r)
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
	f.StringVar(&opts.ConfigMap, "configmap", "", "NAMESPACE/NAME of the controller ConfigMap (in the manifests) whose settings apply")
	return cmd
}
