package testutil

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// HTMLPage is a deterministic HTML page of at least size bytes that
// compresses like a real one (about 3.4x with gzip -1): markup around text
// drawn from a vocabulary, not one line repeated. The compression
// benchmarks use it.
func HTMLPage(size int) []byte {
	words := strings.Fields(`the ingress controller routes requests to services by host and path
		with certificates for each name while the data plane keeps state across swaps of configuration
		users read documentation about annotations timeouts retries canary weights sessions cookies
		compression gzip brotli level types length vary encoding header body stream flush buffer
		pricing account login signup search results product category cart checkout order shipping`)
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Catalogue</title>\n" +
		"<link rel=\"stylesheet\" href=\"/static/site.css?v=3\"><script src=\"/static/app.js\" defer></script></head>\n" +
		"<body><nav class=\"top\"><a href=\"/\">Home</a> <a href=\"/docs\">Docs</a> <a href=\"/pricing\">Pricing</a></nav>\n<main>\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "<article id=\"item-%d\" data-sku=\"%08x\"><h2>", i, rng.Uint32())
		for range 4 {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		b.WriteString("</h2><p>")
		for range 20 + rng.IntN(20) {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		fmt.Fprintf(&b, "</p><a class=\"more\" href=\"/item/%d\">%d reviews</a></article>\n", rng.IntN(100000), rng.IntN(500))
	}
	b.WriteString("</main><footer>moat</footer></body></html>\n")
	return []byte(b.String())
}
