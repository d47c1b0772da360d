// Package democmd is `moat demo`: serve with the bundled examples and echo
// backends, for a first try without a cluster. It is apart from servecmd
// because it chooses its own files, ports and backends.
package democmd

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/moat-ingress/moat/examples"
	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/cli"
	"github.com/moat-ingress/moat/internal/echo"
)

func New() *cobra.Command {
	var httpAddr, httpsAddr, adminAddr, logLevel string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start two echo backends and serve examples/quickstart, then print curl commands to try",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := cli.NewLogger(logLevel)
			dir, err := os.MkdirTemp("", "moat-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if err := os.CopyFS(dir, examples.Quickstart); err != nil {
				return fmt.Errorf("unpacking the quickstart manifests: %w", err)
			}
			manifests := filepath.Join(dir, "quickstart")
			caFile := filepath.Join(manifests, "demo-ca.crt")
			if _, err := fs.Stat(os.DirFS("."), "examples/quickstart/demo-ca.crt"); err == nil {
				caFile = "examples/quickstart/demo-ca.crt"
			}
			_, httpsPort, err := net.SplitHostPort(httpsAddr)
			if err != nil {
				return fmt.Errorf("--https-addr: %w", err)
			}
			_, httpPort, _ := net.SplitHostPort(httpAddr)
			port, _ := strconv.Atoi(httpsPort)

			// Bind the backends before anything starts, so that a busy
			// port fails the demo before the banner claims it is serving.
			// The quickstart EndpointSlices point at these two addresses.
			var backends []net.Listener
			defer func() {
				for _, ln := range backends {
					ln.Close()
				}
			}()
			for _, addr := range []string{"127.0.0.1:9001", "127.0.0.1:9002"} {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					return fmt.Errorf("the demo's echo backends need %s, which is busy (%w); stop what listens there and retry", addr, err)
				}
				backends = append(backends, ln)
			}
			g, ctx := errgroup.WithContext(cmd.Context())
			g.Go(func() error { return echo.ServeListener(ctx, backends[0], "echo-a", log) })
			g.Go(func() error { return echo.ServeListener(ctx, backends[1], "echo-b", log) })
			g.Go(func() error {
				return app.Serve(ctx, app.ServeConfig{
					Manifests:                []string{manifests},
					HTTPAddr:                 httpAddr,
					HTTPSAddr:                httpsAddr,
					AdminAddr:                adminAddr,
					IngressClass:             "moat",
					WatchIngressWithoutClass: true,
					HTTPSRedirectPort:        port,
					Log:                      log,
					AccessLog:                os.Stderr,
					Ready: func(app.Addrs) {
						r := "--resolve demo.localhost:" + httpsPort + ":127.0.0.1"
						out := cmd.OutOrStdout()
						fmt.Fprintf(out, "\nmoat demo is serving examples/quickstart. Try:\n\n")
						fmt.Fprintf(out, "  curl --cacert %s %s https://demo.localhost:%s/hello\n", caFile, r, httpsPort)
						fmt.Fprintf(out, "  curl --cacert %s %s https://demo.localhost:%s/api/items?x=1\n", caFile, r, httpsPort)
						fmt.Fprintf(out, "  curl --http2 -sv -o /dev/null --cacert %s %s https://demo.localhost:%s/ 2>&1 | grep -i 'using http/2'\n", caFile, r, httpsPort)
						fmt.Fprintf(out, "  curl -i --resolve demo.localhost:%s:127.0.0.1 http://demo.localhost:%s/hello   # 308 to HTTPS\n", httpPort, httpPort)
						fmt.Fprintf(out, "  curl http://%s/metrics | grep nginx_ingress_controller_requests\n\n", adminAddr)
						fmt.Fprintf(out, "Access log lines go to stderr. Press Ctrl-C to stop.\n\n")
					},
				})
			})
			return g.Wait()
		},
	}
	cmd.Flags().StringVar(&httpAddr, "http-addr", "127.0.0.1:8080", "plain HTTP listener address")
	cmd.Flags().StringVar(&httpsAddr, "https-addr", "127.0.0.1:8443", "HTTPS listener address")
	cmd.Flags().StringVar(&adminAddr, "admin-addr", "127.0.0.1:10254", "admin listener address")
	cmd.Flags().StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	return cmd
}
