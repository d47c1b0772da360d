// Command moat is a Kubernetes Ingress controller with a Go data plane.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signalContext()
	defer stop()
	root := newRootCmd()
	if isPlugin(os.Args[0]) {
		// Installed as kubectl-moat: kubectl runs it for `kubectl moat`.
		root = newKubectlCmd("kubectl moat")
		root.SilenceUsage, root.SilenceErrors = true, true
	}
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "moat:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "moat",
		Short:         "moat puts TLS in front of Kubernetes Services: an Ingress controller with a Go data plane",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newServeCmd(), newEchoCmd(), newDemoCmd())
	root.AddCommand(newControllerCmd(), newWaitShutdownCmd())
	root.AddCommand(newLintCmd(), newConvertCmd(), newSecretCmd(), newCertCmd())
	root.AddCommand(newKubectlCmd("kubectl"), newAdminGetCmd())
	return root
}

// exitError carries a specific exit status (lint uses 1 for findings).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 2
}
