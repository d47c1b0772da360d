// Command gen writes docs/annotations.md from the annotation key tables.
// Run it from the repository root: go run ./internal/annotations/gen
package main

import (
	"flag"
	"log"
	"os"

	"github.com/moat-ingress/moat/internal/annotations/registry"
)

func main() {
	out := flag.String("o", "docs/annotations.md", "output file")
	flag.Parse()
	if err := os.WriteFile(*out, []byte(registry.Markdown()), 0o644); err != nil {
		log.Fatal(err)
	}
}
