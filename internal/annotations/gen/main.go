// Command gen writes docs/annotations.md from the annotation key tables
// and docs/configmap.md from the controller ConfigMap table.
// Run it from the repository root: go run ./internal/annotations/gen
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/moat-ingress/moat/internal/annotations/registry"
	"github.com/moat-ingress/moat/internal/controllerconfig"
)

func main() {
	dir := flag.String("dir", "docs", "output directory")
	flag.Parse()
	for name, text := range map[string]string{
		"annotations.md": registry.Markdown(),
		"configmap.md":   controllerconfig.Markdown(),
	} {
		if err := os.WriteFile(filepath.Join(*dir, name), []byte(text), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
