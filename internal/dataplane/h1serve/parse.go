package h1serve

import (
	"bufio"
	"net/http"

	"github.com/moat-ingress/moat/internal/dataplane/h1parse"
)

// Limits bound a request head (large_client_header_buffers); a zero field
// takes nginx's default.
type Limits = h1parse.Limits

// Error is a request the server answers with Status, then closes the
// connection.
type Error = h1parse.Error

// readRequest reads one request head, strictly (package h1parse).
func readRequest(br *bufio.Reader, lim Limits) (*http.Request, error) {
	return h1parse.ReadRequest(br, lim)
}
