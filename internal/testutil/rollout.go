package testutil

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/echo"
)

// What the rollout tests (test/lifecycle, test/cluster) share: a client
// side balancer that, like an endpoints controller and kube-proxy, sends
// new connections only to replicas whose /readyz answers 200; a bounded
// load generator; a small WebSocket client; and a backend with a slow
// path.

// Replica is one moat instance behind the Balancer.
type Replica struct {
	Name      string
	HTTP      string // traffic listener address
	Admin     string // admin listener address (/readyz)
	ready     atomic.Bool
	unreadyAt atomic.Int64 // unix nanoseconds of the first failed probe of the current run of failures; 0 when ready
	dropped   atomic.Int64 // unix nanoseconds of the first readiness drop of all
}

// Ready is the last probe's verdict.
func (r *Replica) Ready() bool { return r.ready.Load() }

// UnreadySince is when the Balancer first saw the replica's readiness
// drop, or the zero time.
func (r *Replica) UnreadySince() time.Time {
	if n := r.dropped.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Balancer probes each replica's /readyz every 20 ms and dials new
// connections round-robin over the ready ones. A replica whose readiness
// drops still gets new connections for lag, the time an endpoint change
// takes to reach kube-proxy and load balancers (so a probe failing for
// less than lag, on a busy machine, takes nothing out either). Connections already open
// stay where they are, as with kube-proxy.
type Balancer struct {
	Replicas []*Replica
	lag      time.Duration
	next     atomic.Uint64
	dials    sync.Map // replica name → *atomic.Int64
	stop     chan struct{}
	done     sync.WaitGroup
}

// NewBalancer starts probing; Close stops it.
func NewBalancer(lag time.Duration, rs ...*Replica) *Balancer {
	b := &Balancer{Replicas: rs, lag: lag, stop: make(chan struct{})}
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, r := range rs {
		b.dials.Store(r.Name, new(atomic.Int64))
		b.done.Go(func() {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				ok := false
				if res, err := probe.Get("http://" + r.Admin + "/readyz"); err == nil {
					ok = res.StatusCode == http.StatusOK
					res.Body.Close()
				}
				switch {
				case ok:
					r.unreadyAt.Store(0)
				case r.ready.Load():
					now := time.Now().UnixNano()
					r.unreadyAt.Store(now)
					r.dropped.CompareAndSwap(0, now)
				}
				r.ready.Store(ok)
				select {
				case <-b.stop:
					return
				case <-t.C:
				}
			}
		})
	}
	return b
}

// Close stops the probes.
func (b *Balancer) Close() { close(b.stop); b.done.Wait() }

// Dials reports how many connections went to the replica.
func (b *Balancer) Dials(name string) int64 {
	v, _ := b.dials.Load(name)
	return v.(*atomic.Int64).Load()
}

// DialContext connects to the next ready replica, whatever addr says.
func (b *Balancer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	// One draw per dial: concurrent dials drawing per try could each
	// land on the same unready replica every time.
	start, n := b.next.Add(1), uint64(len(b.Replicas))
	for i := range n {
		r := b.Replicas[(start+i)%n]
		if n := r.unreadyAt.Load(); !r.ready.Load() && (n == 0 || time.Since(time.Unix(0, n)) >= b.lag) {
			continue
		}
		v, _ := b.dials.Load(r.Name)
		v.(*atomic.Int64).Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, r.HTTP)
	}
	return nil, errors.New("balancer: no ready replica")
}

// Load sends GET requests from several workers through clients whose
// connections the Balancer places until Stop, or until max requests or
// maxTime, whichever comes first. Half the workers keep connections alive,
// the others open one per request.
type Load struct {
	OK, Failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// StartLoad runs workers against url (its host is the Host header).
func StartLoad(b *Balancer, url string, workers int, max int64, maxTime time.Duration) *Load {
	ctx, cancel := context.WithTimeout(context.Background(), maxTime)
	l := &Load{cancel: cancel}
	keep := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: b.DialContext, MaxIdleConnsPerHost: workers}}
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: b.DialContext, DisableKeepAlives: true}}
	var sent atomic.Int64
	for i := range workers {
		c := keep
		if i%2 == 1 {
			c = fresh
		}
		l.wg.Go(func() {
			for ctx.Err() == nil && sent.Add(1) <= max {
				err := get(ctx, c, url)
				if err != nil && ctx.Err() != nil {
					return // stopped mid-request: not a failure of moat's
				}
				if err != nil {
					l.Failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 10 {
						l.errs = append(l.errs, time.Now().Format("15:04:05.000")+" "+err.Error())
					}
					l.mu.Unlock()
					continue
				}
				l.OK.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return l
}

func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// Stop ends the load and waits for the workers; requests in flight are
// cancelled and not counted as failures.
func (l *Load) Stop() { l.cancel(); l.wg.Wait() }

// AtLeast waits until n more requests than before have succeeded, so
// that a test shows the load going on after an event without asserting a
// rate (a busy machine may be slow).
func (l *Load) AtLeast(t testing.TB, before, n int64) {
	t.Helper()
	Eventually(t, 30*time.Second, "the load to go on", func() error {
		if got := l.OK.Load() - before; got < n {
			return fmt.Errorf("%d requests served since, want %d", got, n)
		}
		return nil
	})
}

// Errors are the first few failures, with their times.
func (l *Load) Errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// SlowHandler is echo.Handler(name) plus "/slow?d=1500ms", which waits d
// before answering 200 with its name: its response head is written only
// then, after the wait.
func SlowHandler(name string) http.Handler {
	e := echo.Handler(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			e.ServeHTTP(w, r)
			return
		}
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		time.Sleep(min(d, 30*time.Second))
		w.Header().Set(echo.NameHeader, name)
		_, _ = io.WriteString(w, "slow done\n")
	})
}

// WS is a minimal WebSocket client (RFC 6455) for tests.
type WS struct {
	Conn net.Conn
	br   *bufio.Reader
}

// DialWS upgrades a connection to addr for host and path.
func DialWS(addr, host, path string) (*WS, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return UpgradeWS(c, host, path)
}

// UpgradeWS upgrades c (plain or TLS) for host and path; it closes c on
// failure.
func UpgradeWS(c net.Conn, host, path string) (*WS, error) {
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		path, host, base64.StdEncoding.EncodeToString(key))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("upgrade answered %d", res.StatusCode)
	}
	_ = c.SetDeadline(time.Time{})
	return &WS{Conn: c, br: br}, nil
}

// Send writes one masked text frame.
func (w *WS) Send(msg string) error {
	p := []byte(msg)
	f := []byte{0x81}
	switch {
	case len(p) < 126:
		f = append(f, 0x80|byte(len(p)))
	default:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(len(p)))
	}
	mask := []byte{0x5a, 0x13, 0xc7, 0x01}
	f = append(f, mask...)
	for i, b := range p {
		f = append(f, b^mask[i%4])
	}
	_, err := w.Conn.Write(f)
	return err
}

// Recv reads one frame and returns its opcode and payload.
func (w *WS) Recv(timeout time.Duration) (byte, []byte, error) {
	_ = w.Conn.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, errors.New("frame over 1 MiB")
	}
	p := make([]byte, n)
	_, err := io.ReadFull(w.br, p)
	return h[0] & 0x0f, p, err
}

// Echo sends msg and expects it back.
func (w *WS) Echo(msg string) error {
	if err := w.Send(msg); err != nil {
		return err
	}
	op, p, err := w.Recv(5 * time.Second)
	if err != nil {
		return err
	}
	if op != 1 || string(p) != msg {
		return fmt.Errorf("echo: opcode %d %q, want text %q", op, p, msg)
	}
	return nil
}

// CloseCode is the status of a Close frame's payload (1005 when empty).
func CloseCode(p []byte) int {
	if len(p) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(p))
}
