package cli

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/moat-ingress/moat/internal/gctune"
	"github.com/moat-ingress/moat/internal/linebuf"
)

// Proxy is what moat serve and moat controller set up alike around the
// app: the access-log sink and format, the GC tuner and SIGHUP.
type Proxy struct {
	AccessLogJSON bool
	// AccessLog is nil when the access log is off.
	AccessLog io.Writer
	Reread    <-chan struct{}
	stops     []func()
}

// StartProxy checks --access-log-format and starts the batched access-log
// sink on w (when accessLog), the GC tuner and the SIGHUP channel; Stop
// flushes and stops them once the app returned.
func StartProxy(w io.Writer, log *slog.Logger, accessLog bool, format string) (*Proxy, error) {
	p := &Proxy{}
	switch format {
	case "nginx":
	case "json":
		p.AccessLogJSON = true
	default:
		return nil, fmt.Errorf("--access-log-format %q: want nginx or json", format)
	}
	if accessLog {
		// Lines leave in batches (at 32 KiB or 100 ms), not one write(2)
		// per request (internal/linebuf).
		lb := linebuf.New(w, 32<<10, 100*time.Millisecond)
		p.AccessLog = lb
		p.stops = append(p.stops, func() { _ = lb.Close() }) // a failed flush to stdout has no one to tell
	}
	// A proxy's small live heap would otherwise be collected ~30 times a
	// second under load (internal/gctune).
	p.stops = append(p.stops, gctune.Start(gctune.Options{Logger: log}).Stop)
	p.Reread = Sighup()
	return p, nil
}

// Stop stops the GC tuner, then flushes the access log.
func (p *Proxy) Stop() {
	for i := len(p.stops) - 1; i >= 0; i-- {
		p.stops[i]()
	}
}
