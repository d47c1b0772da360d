// Package mirror sends copies of requests to mirror backends (Gateway API
// RequestMirror): fire and forget, the response read and discarded. A
// mirror must never hurt the request it copies, so copies run in their
// own goroutines under a bound on those in flight, with their own
// deadline, and a copy that finds the bound reached is dropped, not
// queued.
package mirror

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Defaults for Options.
const (
	DefaultMaxInFlight = 256
	// DefaultTimeout bounds one copy from dial to the end of its
	// response, as nginx's proxy_read_timeout default does each wait.
	DefaultTimeout = 60 * time.Second
	// discardLimit is how much of a mirror's response is read so the
	// connection can be reused; a longer one is cut.
	discardLimit = 64 << 10
)

// Options configures a Sender.
type Options struct {
	// Transport carries the copies (the data plane's plain-HTTP one).
	Transport http.RoundTripper
	// Upstreams resolves a mirror's pool to one endpoint per copy.
	Upstreams *upstream.Manager
	// MaxInFlight bounds the copies in flight; 0: DefaultMaxInFlight.
	MaxInFlight int
	// Timeout bounds each copy; 0: DefaultTimeout.
	Timeout time.Duration
	// Logger receives one debug line per failed or dropped copy; nil
	// discards them.
	Logger *slog.Logger
	// Draw returns a number in [0, n) for the fraction of requests
	// mirrored; nil: math/rand/v2's IntN. Tests make it deterministic.
	Draw func(n int) int
	// Count, when set, is told each copy's result as Stats names it
	// ("sent", "failed", "dropped", "skipped"): the metrics.
	Count func(result string)
}

// Sender sends request copies. It is safe for concurrent use.
type Sender struct {
	transport http.RoundTripper
	upstreams *upstream.Manager
	slots     chan struct{}
	timeout   time.Duration
	log       *slog.Logger
	draw      func(int) int
	count     func(string)

	sent, dropped, failed, skipped atomic.Uint64
}

// New returns a Sender.
func New(o Options) *Sender {
	s := &Sender{transport: o.Transport, upstreams: o.Upstreams, timeout: o.Timeout, log: o.Logger, draw: o.Draw, count: o.Count}
	n := o.MaxInFlight
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	s.slots = make(chan struct{}, n)
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.draw == nil {
		s.draw = rand.IntN
	}
	if s.count == nil {
		s.count = func(string) {}
	}
	return s
}

// result counts one copy's result.
func (s *Sender) result(c *atomic.Uint64, name string) {
	c.Add(1)
	s.count(name)
}

// Stats counts the copies: sent (answered by the mirror, whatever the
// status), failed (no answer: no endpoint, connection error, timeout),
// dropped (MaxInFlight reached) and skipped (a request body that was not
// buffered, which cannot be read twice).
type Stats struct{ Sent, Failed, Dropped, Skipped uint64 }

// Stats returns the counts so far.
func (s *Sender) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Failed: s.failed.Load(), Dropped: s.dropped.Load(), Skipped: s.skipped.Load()}
}

// Send copies req to each mirror of ms its fraction selects, and returns
// at once. req is the request as the main upstream gets it (path,
// query, headers after the route's changes); its header is copied before
// Send returns, so the caller may go on changing it. body is its whole
// body when it has one and it was buffered; a request with a body that
// was not (streamed, or spooled to a file) is not mirrored. Protocol
// upgrades (WebSocket) are not mirrored.
func (s *Sender) Send(req *http.Request, body []byte, ms []routecfg.Mirror) {
	if req.Header["Upgrade"] != nil {
		return
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	for _, m := range ms {
		if !m.All() && s.draw(m.Denominator) >= m.Numerator {
			continue
		}
		if hasBody && body == nil {
			s.result(&s.skipped, "skipped")
			s.log.Debug("request not mirrored: its body was not buffered", "mirror", m.Pool)
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.result(&s.dropped, "dropped")
			s.log.Debug("request not mirrored: too many copies in flight", "mirror", m.Pool, "max", cap(s.slots))
			continue
		}
		out := s.copyOf(req, body)
		go s.send(out, m.Pool)
	}
}

// copyOf is the parts of req a copy needs, owned by the copy.
func (s *Sender) copyOf(req *http.Request, body []byte) *http.Request {
	u := &url.URL{Scheme: "http", Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	out := &http.Request{Method: req.Method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: req.Header.Clone(), Host: req.Host, Body: http.NoBody}
	if out.Header == nil {
		out.Header = http.Header{}
	}
	if len(body) > 0 {
		out.ContentLength = int64(len(body))
		b := body // shared read-only with the main request's attempts
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return out
}

func (s *Sender) send(req *http.Request, pool string) {
	defer func() { <-s.slots }()
	ep := s.upstreams.Pick(pool)
	if ep == nil {
		s.result(&s.failed, "failed")
		s.log.Debug("request not mirrored: no ready endpoint", "mirror", pool)
		return
	}
	ep.Acquire()
	defer ep.Release()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	req.URL.Host = ep.Address
	res, err := s.transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		s.result(&s.failed, "failed")
		s.log.Debug("mirrored request failed", "mirror", pool, "upstream", ep.Address, "err", err)
		return
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, discardLimit)) //nolint:errcheck // the answer is discarded
	res.Body.Close()
	s.result(&s.sent, "sent")
}
