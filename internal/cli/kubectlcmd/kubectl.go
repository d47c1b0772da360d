// Package kubectlcmd is `kubectl moat` (the binary installed as
// kubectl-moat, or `moat kubectl`) and `moat admin get`: reads of a running
// moat's admin endpoints through internal/kubectlplugin. It is apart
// because it is the only command that talks to a running moat.
package kubectlcmd

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/moat-ingress/moat/internal/cli"
	"github.com/moat-ingress/moat/internal/kubectlplugin"
)

// pluginName is the name kubectl finds plugins by: `kubectl moat ...` runs
// kubectl-moat on the PATH, which is this binary (a copy or a link).
const pluginName = "kubectl-moat"

// IsPlugin reports whether the binary was started as kubectl-moat.
func IsPlugin(argv0 string) bool {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	return base == pluginName
}

// New is `kubectl moat` (and `moat kubectl`): a running
// controller's debug views through the API server.
func New(use string) *cobra.Command {
	var (
		kubeconfig, kctx string
		opts             kubectlplugin.Options
	)
	cmd := &cobra.Command{
		Use:   use,
		Short: "Ask a running moat controller what it serves (the kubectl plugin)",
		Long: `Reads a running controller's debug views through the API server.

By default it runs "moat admin-get" in a controller pod (kubectl exec; needs
pods/exec), which reads the pod's loopback debug listener (--debug-addr) or
admin listener. --via=proxy uses the API server's pod proxy to the admin port
instead (needs pods/proxy; works only when /debug is served there, i.e. the
controller runs without --debug-addr).

Install: copy or link the moat binary as kubectl-moat on your PATH.`,
		Args: cobra.NoArgs,
	}
	f := cmd.PersistentFlags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&kctx, "context", "", "kubeconfig context")
	f.StringVarP(&opts.Namespace, "namespace", "n", "moat-system", "the controller's namespace")
	f.StringVar(&opts.Pod, "pod", "", "the controller pod (default: the first ready one matching --selector)")
	f.StringVarP(&opts.Selector, "selector", "l", kubectlplugin.DefaultSelector, "label selector of the controller pods")
	f.StringVar(&opts.Container, "container", "moat", "the controller container")
	f.StringVar(&opts.Via, "via", kubectlplugin.ViaExec, "exec (kubectl exec into the pod) or proxy (API server pod proxy to --admin-port)")
	f.IntVar(&opts.AdminPort, "admin-port", 10254, "the pod's admin port, for --via=proxy")

	client := func() (*kubectlplugin.Client, error) {
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig, Precedence: clientcmd.NewDefaultClientConfigLoadingRules().Precedence},
			&clientcmd.ConfigOverrides{CurrentContext: kctx}).ClientConfig()
		if err != nil {
			return nil, err
		}
		return kubectlplugin.New(cfg, opts)
	}
	get := func(ctx context.Context, path string) ([]byte, error) {
		c, err := client()
		if err != nil {
			return nil, err
		}
		return c.Get(ctx, path)
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "lint",
		Short: "The controller's diagnostics for what it serves (exit 1 on errors)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := get(cmd.Context(), "/debug/diagnostics")
			if err != nil {
				return err
			}
			text, errs, err := kubectlplugin.FormatDiagnostics(body)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), text)
			if errs > 0 {
				return &cli.ExitError{Code: 1, Msg: fmt.Sprintf("%d errors", errs)}
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "backends",
		Short: "Each backend pool and its endpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := get(cmd.Context(), "/debug/config")
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(kubectlplugin.Backends(body))
			return err
		},
	}, &cobra.Command{
		Use:   "certs",
		Short: "Every host's certificate, expiry and why it fell back to the default one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := get(cmd.Context(), "/debug/certs")
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(body)
			return err
		},
	}, &cobra.Command{
		Use:   "conf",
		Short: "The configuration the controller serves (hosts, routes, pools)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := get(cmd.Context(), "/debug/config")
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(body)
			return err
		},
	})
	return cmd
}

// NewAdminGet is what the plugin runs inside the pod: the image has no
// shell or curl, so moat fetches its own debug page.
func NewAdminGet() *cobra.Command {
	var addrs []string
	cmd := &cobra.Command{
		Use:    "admin-get PATH",
		Short:  "GET PATH from this pod's debug or admin listener (what kubectl moat runs in the pod)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return kubectlplugin.AdminGet(cmd.Context(), cmd.OutOrStdout(), args[0], addrs)
		},
	}
	cmd.Flags().StringArrayVar(&addrs, "addr", kubectlplugin.InPodAddrs, "listener to ask; repeatable, tried in order")
	return cmd
}
