// Package attempt times one exchange with an upstream endpoint as nginx
// does (proxy-send-timeout, proxy-read-timeout, limit-rate) and carries
// what the exchanger asks of the proxy (exchange.Attempt).
package attempt

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Flusher flushes what the client has not got yet, once the response
// has begun (the proxy's response writer).
type Flusher interface{ FlushStarted() }

// ErrTimeout ends an attempt whose upstream stayed silent for
// longer than proxy-read-timeout or proxy-send-timeout; the proxy maps
// it to 504 (it is a net.Error with Timeout).
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string {
	return "upstream timed out (proxy-read-timeout / proxy-send-timeout)"
}
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// monoBase anchors attempt deadlines on the monotonic clock.
var monoBase = time.Now()

// attempt bounds one exchange with an endpoint, as nginx's
// proxy_send_timeout and proxy_read_timeout: a write of the request that
// the upstream does not take within the send timeout, or a wait for the
// upstream (response header, then each read of the body) longer than the
// read timeout, cancels it. The two run independently (a gRPC stream
// writes and reads at once). Connecting is bounded by the dialer
// (proxy-connect-timeout). The timer is pooled; the attempt carries the
// generation it was given, so a transport goroutine that calls back late
// (after the request ended) cannot touch the timer's next use.
type Attempt struct {
	t                   *silenceTimer
	gen                 uint64
	connect, send, read time.Duration
	// hasBody: the request body's reads drive the send deadline and its
	// end starts the read deadline; without one the request is written
	// as soon as there is a connection.
	hasBody bool
	// ctx carries the attempt to net/http's dialer, for the exchangers
	// that are net/http Transports (exchange.AttemptContext).
	ctx      exchange.AttemptContext
	released bool
	// Flush is the client's writer, flushed when the upstream makes the
	// body wait (nil: no flush); MaxHeader bounds the response header.
	Flush     Flusher
	MaxHeader int64
	// Server is the address the client connected to (ServerAddr).
	Server net.Addr
	// dialStart and connectNs time the connection dialed for the attempt
	// ($upstream_connect_time; 0 when a kept-alive one was reused).
	// Atomic: a transport may dial on a goroutine of its own.
	dialStart, connectNs atomic.Int64
}

// MaxResponseHeaderBytes, UpstreamWait and ServerAddr are part of the
// exchange.Attempt.
func (a *Attempt) MaxResponseHeaderBytes() int64 { return a.MaxHeader }

func (a *Attempt) ServerAddr() net.Addr { return a.Server }

func (a *Attempt) UpstreamWait() {
	if a.Flush != nil {
		a.Flush.FlushStarted()
	}
}

// Which deadline of a silenceTimer.
const (
	sendDeadline = iota
	readDeadline
)

// ConnectTimeout, Dialing and Dialed are the rest of the
// exchange.Attempt: the deadlines stop while a connection is dialed for
// the attempt.
func (a *Attempt) ConnectTimeout() time.Duration { return a.connect }

func (a *Attempt) Dialing() {
	a.dialStart.Store(int64(time.Since(monoBase)))
	a.set(sendDeadline, 0)
	a.set(readDeadline, 0)
}

func (a *Attempt) Dialed() {
	if s := a.dialStart.Load(); s != 0 {
		a.connectNs.Store(int64(time.Since(monoBase)) - s)
	}
	a.start()
}

// start sets the deadline of the first phase: sending the request when
// it has a body, else waiting for the response.
func (a *Attempt) start() {
	if a.hasBody {
		a.set(sendDeadline, a.send)
	} else {
		a.set(readDeadline, a.read)
	}
}

// silenceTimer is the pooled part of an attempt: one timer for the
// earlier of two deadlines.
type silenceTimer struct {
	timer *time.Timer

	mu          sync.Mutex
	gen         uint64
	cancel      context.CancelCauseFunc
	deadline    [2]time.Duration // since monoBase; 0 unset
	fired       bool
	closeOnFire io.Closer // an upgraded connection
}

var silenceTimers = sync.Pool{New: func() any {
	t := &silenceTimer{}
	t.timer = time.AfterFunc(time.Hour, t.fire)
	t.timer.Stop()
	return t
}}

func New(parent context.Context, tm *routecfg.Timeouts, hasBody bool) *Attempt {
	t := silenceTimers.Get().(*silenceTimer)
	ctx, cancel := context.WithCancelCause(parent)
	a := &Attempt{t: t, connect: tm.Connect, send: tm.Send, read: tm.Read, hasBody: hasBody}
	a.ctx = exchange.AttemptContext{Context: ctx, At: a}
	t.mu.Lock()
	t.gen++
	a.gen = t.gen
	t.cancel, t.fired, t.closeOnFire, t.deadline = cancel, false, nil, [2]time.Duration{}
	t.mu.Unlock()
	a.start()
	return a
}

// set starts deadline which d from now (0: clears it).
func (a *Attempt) set(which int, d time.Duration) {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen != a.gen || t.cancel == nil || t.fired {
		return
	}
	now := time.Since(monoBase)
	if d <= 0 {
		t.deadline[which] = 0
	} else {
		t.deadline[which] = now + d
	}
	t.schedule(now)
}

// schedule points the timer at the earlier deadline. t.mu is held.
func (t *silenceTimer) schedule(now time.Duration) {
	next := time.Duration(0)
	for _, d := range t.deadline {
		if d != 0 && (next == 0 || d < next) {
			next = d
		}
	}
	if next == 0 {
		t.timer.Stop()
		return
	}
	t.timer.Reset(max(next-now, 0))
}

func (t *silenceTimer) fire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel == nil || t.fired {
		return
	}
	now := time.Since(monoBase)
	for _, d := range t.deadline {
		if d != 0 && d <= now {
			t.fired = true
			t.cancel(ErrTimeout)
			if t.closeOnFire != nil {
				t.closeOnFire.Close()
			}
			return
		}
	}
	// A stale firing (a deadline moved meanwhile): wait for the next.
	t.schedule(now)
}

// CloseOnFire makes a timeout also close c (an upgraded connection,
// which the context no longer governs).
func (a *Attempt) CloseOnFire(c io.Closer) {
	a.t.mu.Lock()
	if a.t.gen == a.gen {
		a.t.closeOnFire = c
	}
	a.t.mu.Unlock()
}

func (a *Attempt) TimedOut() bool {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return a.t.gen == a.gen && a.t.fired
}

// Release ends the Attempt, frees its context and returns the timer to
// the pool. It is called once, by the goroutine that owns the attempt.
func (a *Attempt) Release() {
	if a.released {
		return
	}
	a.released = true
	t := a.t
	t.mu.Lock()
	if t.cancel != nil {
		t.cancel(context.Canceled)
	}
	t.cancel, t.closeOnFire, t.deadline = nil, nil, [2]time.Duration{}
	t.gen++
	t.mu.Unlock()
	t.timer.Stop()
	silenceTimers.Put(t)
}

// ReqBody is the request body seen by the transport: it counts bytes
// (a partly sent body is never sent again) and feeds the send timeout. Close does not
// close the client's body, so a retry after a connection failure can
// still send it; net/http closes it when the handler returns.
type ReqBody struct {
	Src io.ReadCloser
	// Buffered: Src is the whole body held in memory, new per attempt.
	Buffered bool

	mu   sync.Mutex
	n    int64
	a    *Attempt
	done bool
}

func (b *ReqBody) Attach(a *Attempt) {
	b.mu.Lock()
	b.a = a
	b.mu.Unlock()
}

func (b *ReqBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// The transport asks for more once the previous chunk is written:
	// the upstream took it. Waiting for the client is not the upstream's
	// silence.
	if b.a != nil {
		b.a.set(sendDeadline, 0)
	}
	n, err := b.Src.Read(p)
	b.n += int64(n)
	if b.a != nil {
		if n > 0 {
			b.a.set(sendDeadline, b.a.send)
		}
		if err == io.EOF {
			b.done = true
			b.a.set(readDeadline, b.a.read)
		}
	}
	return n, err
}

func (b *ReqBody) Close() error { return nil }

// Replayable says whether the body can be sent again: held in memory,
// or not read at all yet.
func (b *ReqBody) Replayable() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffered || (b.n == 0 && !b.done)
}

// RespBody is the upstream response body seen by the ReverseProxy: each
// read is bounded by the read timeout, and limit-rate paces it.
type RespBody struct {
	RC  io.ReadCloser
	A   *Attempt
	Ctx context.Context
	// Rate paces the body in bytes per second after the first After
	// bytes (limit-rate, limit-rate-after), timed from Start; 0 unlimited.
	Rate, After int64
	Start       time.Time
	n           int64
	// Flush, when set, is flushed before every read.
	Flush Flusher
}

func (b *RespBody) Read(p []byte) (int, error) {
	if b.Flush != nil {
		b.Flush.FlushStarted()
	}
	if b.Rate > 0 {
		// Small reads keep the pace smooth (a tenth of a second's worth).
		p = p[:min(int64(len(p)), max(b.Rate/10, 512))]
	}
	b.A.set(readDeadline, b.A.read)
	n, err := b.RC.Read(p)
	b.A.set(readDeadline, 0)
	if err != nil && b.A.TimedOut() {
		err = ErrTimeout
	}
	b.n += int64(n)
	if b.Rate > 0 && b.n > b.After && err == nil {
		due := time.Duration(float64(b.n-b.After) / float64(b.Rate) * float64(time.Second))
		if wait := due - time.Since(b.Start); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.Ctx.Done():
				t.Stop()
				return n, b.Ctx.Err()
			}
		}
	}
	return n, err
}

func (b *RespBody) Close() error { return b.RC.Close() }

// UpgradeBody is an upgraded connection's upstream side: reads are bounded
// by the read timeout.
type UpgradeBody struct {
	io.ReadWriteCloser
	A *Attempt
}

func (u UpgradeBody) Read(p []byte) (int, error) {
	u.A.set(readDeadline, u.A.read)
	return u.ReadWriteCloser.Read(p)
}

// Context is the attempt's context, which carries it to net/http's
// dialer (exchange.AttemptContext).
func (a *Attempt) Context() context.Context { return &a.ctx }

// HeaderIn ends the wait for the response header: body reads set their
// own deadline.
func (a *Attempt) HeaderIn() { a.set(readDeadline, 0) }

// ConnectTime is the time spent dialing a connection for the attempt
// ($upstream_connect_time; 0 when a kept-alive one was reused).
func (a *Attempt) ConnectTime() time.Duration { return time.Duration(a.connectNs.Load()) }

var _ exchange.Attempt = (*Attempt)(nil)
