package routecfg

import "time"

// NextUpstream is the set of proxy-next-upstream conditions.
type NextUpstream uint16

const (
	// NextError: an error connecting, sending the request or reading the
	// response header.
	NextError NextUpstream = 1 << iota
	// NextTimeout: a timeout while connecting, sending or reading the
	// response header.
	NextTimeout
	// NextInvalidHeader: an empty or invalid response.
	NextInvalidHeader
	NextHTTP500
	NextHTTP502
	NextHTTP503
	NextHTTP504
	NextHTTP403
	NextHTTP404
	NextHTTP429
	// NextNonIdempotent allows retrying POST, LOCK and PATCH after the
	// request was sent.
	NextNonIdempotent
)

// Timeouts are the upstream timeouts and retries of a route. translate
// fills every field, taking the controller defaults for the keys the
// Ingress does not set.
type Timeouts struct {
	// Connect bounds establishing a connection to an endpoint.
	Connect time.Duration
	// Send bounds each write of the request to the upstream; Read each
	// read of the response (the header and between body reads).
	Send, Read time.Duration
	// Next says when another endpoint is tried; 0 is "off".
	Next NextUpstream
	// Tries is the number of attempts including the first (0: as many
	// as the pool has endpoints).
	Tries int
	// NextTimeout bounds the time spent retrying (0: unlimited).
	NextTimeout time.Duration
	// Again lets retries go back to endpoints already tried once every
	// one has been (Gateway API retry: a one-endpoint pool is retried);
	// proxy-next-upstream tries each endpoint once.
	Again bool
	// Backoff is the least wait before each retry (Gateway API
	// retry.backoff); 0: none, as nginx.
	Backoff time.Duration
}
