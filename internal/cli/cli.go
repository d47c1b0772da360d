// Package cli is what moat's subcommands share: exit statuses, signal
// handling, the lifecycle flags and the logger. Each subcommand is a
// package of its own under internal/cli (servecmd, controllercmd, lintcmd,
// ...) so that cmd/moat only assembles them and one command's code is one
// folder.
package cli

import (
	"fmt"
	"log/slog"
	"os"
)

// ExitError carries a specific exit status (lint uses 1 for findings).
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// ExitCode is the status moat exits with for err: an ExitError's, else 2.
func ExitCode(err error) int {
	if e, ok := err.(*ExitError); ok {
		return e.Code
	}
	return 2
}

// Refuse is a problem with the user's files: exit status 1, not 2.
func Refuse(format string, a ...any) error {
	return &ExitError{Code: 1, Msg: fmt.Sprintf(format, a...)}
}

// NewLogger is the JSON log on stderr at level (debug, info, warn or error;
// anything else is info).
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
