// Package echocmd is `moat echo`, the test backend that answers with what
// it received. It is a command of its own so that examples and tests can
// run a backend from the same binary.
package echocmd

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/moat-ingress/moat/internal/echo"
)

func New() *cobra.Command {
	var listen, name string
	cmd := &cobra.Command{
		Use:   "echo",
		Short: "Run a debug backend that answers every request with a JSON description of it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
			return echo.Serve(cmd.Context(), listen, name, log)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9000", "address to listen on")
	cmd.Flags().StringVar(&name, "name", "echo", "name reported in every response")
	return cmd
}
