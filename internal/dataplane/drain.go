package dataplane

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/h1serve"
	"github.com/moat-ingress/moat/internal/dataplane/passthrough"
)

// SetShutdownTimeout sets how long the drain after Serve's ctx ends may
// last (the controller ConfigMap's worker-shutdown-timeout); zero or less
// means DefaultShutdownTimeout. It may be called while serving: the drain
// reads it when it starts.
func (d *Dataplane) SetShutdownTimeout(t time.Duration) {
	if t <= 0 {
		t = DefaultShutdownTimeout
	}
	d.shutdownTimeout.Store(int64(t))
}

// ShutdownTimeout is the drain's bound in effect.
func (d *Dataplane) ShutdownTimeout() time.Duration {
	return time.Duration(d.shutdownTimeout.Load())
}

// drain ends serving as nginx's graceful quit does: the listeners close
// at once; http.Server.Shutdown closes idle connections, answers the next
// request on each HTTP/1.1 connection with Connection: close and sends
// HTTP/2 connections GOAWAY, then waits for the requests and streams in
// flight; upgraded connections (WebSockets), which Shutdown does not see,
// and passthrough tunnels are waited for alongside, as are HTTP/3
// connections (GOAWAY, then their requests). What is left at the
// shutdown timeout is closed: WebSockets with a Close frame (1001).
func (d *Dataplane) drain(ctx context.Context, servers []*h1serve.Server, fronts []*passthrough.Listener) {
	timeout := d.ShutdownTimeout()
	start := time.Now()
	d.log.Info("shutdown: listeners closed, draining requests, streams and WebSockets in flight",
		"timeout_ms", float64(timeout.Microseconds())/1000, "websockets", d.upgrades.Len())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var wg sync.WaitGroup
	var cut atomic.Bool
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(sctx); err != nil {
				cut.Store(true)
				srv.Close()
			}
		})
	}
	var websockets int
	wg.Go(func() {
		if d.upgrades.Wait(sctx) > 0 {
			websockets = d.upgrades.CloseAll()
		}
	})
	for _, front := range fronts {
		wg.Go(func() { front.Shutdown(sctx) })
	}
	// TCP services: the ports close at once, connections get until the
	// timeout (UDP sessions end with their ports).
	var streamsCut int
	wg.Go(func() { streamsCut = d.streams.Drain(sctx) })
	wg.Go(func() {
		if d.stopHTTP3(sctx) {
			cut.Store(true)
		}
	})
	wg.Wait()
	took := time.Since(start)
	if cut.Load() || websockets > 0 || streamsCut > 0 {
		d.log.Info("shutdown: drain timeout reached; closed what was still open",
			"timeout_ms", float64(timeout.Microseconds())/1000, "took_ms", float64(took.Microseconds())/1000, "http_cut", cut.Load(), "websockets_closed", websockets,
			"stream_connections_closed", streamsCut)
		return
	}
	d.log.Info("shutdown: drained", "took_ms", float64(took.Microseconds())/1000)
}
