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
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
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
