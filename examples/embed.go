// Package examples embeds the runnable example manifests so that
// `moat demo` works from any directory.
package examples

import "embed"

// Quickstart holds examples/quickstart.
//
//go:embed quickstart
var Quickstart embed.FS
