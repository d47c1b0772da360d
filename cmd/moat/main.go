// Command moat is a Kubernetes Ingress controller with a Go data plane.
// It only assembles the subcommands: each is a package under internal/cli.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/moat-ingress/moat/internal/cli"
	"github.com/moat-ingress/moat/internal/cli/certcmd"
	"github.com/moat-ingress/moat/internal/cli/controllercmd"
	"github.com/moat-ingress/moat/internal/cli/convertcmd"
	"github.com/moat-ingress/moat/internal/cli/democmd"
	"github.com/moat-ingress/moat/internal/cli/echocmd"
	"github.com/moat-ingress/moat/internal/cli/kubectlcmd"
	"github.com/moat-ingress/moat/internal/cli/lintcmd"
	"github.com/moat-ingress/moat/internal/cli/secretcmd"
	"github.com/moat-ingress/moat/internal/cli/servecmd"
	"github.com/moat-ingress/moat/internal/cli/waitshutdowncmd"
)

func main() {
	ctx, stop := cli.SignalContext()
	defer stop()
	root := newRootCmd()
	if kubectlcmd.IsPlugin(os.Args[0]) {
		// Installed as kubectl-moat: kubectl runs it for `kubectl moat`.
		root = kubectlcmd.New("kubectl moat")
		root.SilenceUsage, root.SilenceErrors = true, true
	}
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "moat:", err)
		os.Exit(cli.ExitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "moat",
		Short:         "moat puts TLS in front of Kubernetes Services: an Ingress controller with a Go data plane",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), servecmd.New(), echocmd.New(), democmd.New())
	root.AddCommand(controllercmd.New(), waitshutdowncmd.New())
	root.AddCommand(lintcmd.New(), convertcmd.New(), secretcmd.New(), certcmd.New())
	root.AddCommand(kubectlcmd.New("kubectl"), kubectlcmd.NewAdminGet())
	return root
}
