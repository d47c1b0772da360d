package h1serve

import "github.com/moat-ingress/moat/internal/dataplane/h1parse"

// Limits bound a request head (large_client_header_buffers); a zero field
// takes nginx's default.
type Limits = h1parse.Limits

// Error is a request the server answers with Status, then closes the
// connection.
type Error = h1parse.Error
