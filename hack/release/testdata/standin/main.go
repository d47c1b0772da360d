// Command standin is a small stand-in for moat in hack/release's test: it
// takes the same -X main.version/main.commit stamps and answers `version`
// the same way, but cross-compiles in seconds.
package main

import (
	"fmt"
	"os"
)

var (
	version = "dev"
	commit  = ""
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Printf("moat %s (commit %s, standin)\n", version, commit)
	}
}
