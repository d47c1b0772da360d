package dataplane

import (
	"context"

	"github.com/moat-ingress/moat/internal/dataplane/tracing"
)

func newTracing(opts Options) *tracing.Manager {
	o := opts.Tracing
	if o.Logger == nil {
		o.Logger = opts.Logger
	}
	if o.Metrics == nil {
		o.Metrics = opts.Metrics
	}
	return tracing.NewManager(o)
}

// closeTracing exports the spans still queued when the data plane stops.
func (d *Dataplane) closeTracing() {
	ctx, cancel := context.WithTimeout(context.Background(), tracing.DefaultRetireTimeout)
	defer cancel()
	if err := d.tracing.Close(ctx); err != nil {
		d.log.Warn("opentelemetry: flushing spans at shutdown", "error", err)
	}
}
