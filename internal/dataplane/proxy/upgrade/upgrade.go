// Package upgrade tracks the client connections handed over to an
// upgraded protocol (WebSocket), for the drain on shutdown.
package upgrade

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Upgrades tracks the client connections handed over to an upgraded
// protocol (WebSocket and other Upgrade exchanges). http.Server.Shutdown
// neither waits for nor closes hijacked connections, so the drain on
// shutdown waits for these itself and ends what is left at its deadline:
// a WebSocket with a Close frame (1001, going away) when the stream to the
// client is between frames, anything else by closing the connection.
type Upgrades struct {
	mu    sync.Mutex
	conns map[*upgradedConn]struct{}
	// gone is signalled (without blocking) whenever a connection closes.
	gone chan struct{}
}

// NewUpgrades returns an empty tracker.
func NewUpgrades() *Upgrades {
	return &Upgrades{conns: map[*upgradedConn]struct{}{}, gone: make(chan struct{}, 1)}
}

// Len is the number of upgraded connections open.
func (u *Upgrades) Len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.conns)
}

// Wait blocks until no upgraded connection is open or ctx is done, and
// returns how many are left.
func (u *Upgrades) Wait(ctx context.Context) int {
	for {
		n := u.Len()
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return u.Len()
		case <-u.gone:
		}
	}
}

// closeFrameWait is how long CloseAll gives the two ends to finish the
// WebSocket closing handshake before it closes the connections.
const closeFrameWait = time.Second

// CloseAll ends every open upgraded connection: each WebSocket gets a
// Close frame (1001) and up to a second to answer and go, then every
// connection still open is closed. It returns how many it found.
func (u *Upgrades) CloseAll() int {
	u.mu.Lock()
	conns := make([]*upgradedConn, 0, len(u.conns))
	for c := range u.conns {
		conns = append(conns, c)
	}
	u.mu.Unlock()
	told := 0
	for _, c := range conns {
		if c.goingAway() {
			told++
		}
	}
	if told > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), closeFrameWait)
		u.Wait(ctx)
		cancel()
	}
	for _, c := range conns {
		c.Close() //nolint:errcheck // closing what the drain gives up on
	}
	return len(conns)
}

func (u *Upgrades) Track(c net.Conn, websocket bool) net.Conn {
	uc := &upgradedConn{Conn: c, u: u, websocket: websocket}
	u.mu.Lock()
	u.conns[uc] = struct{}{}
	u.mu.Unlock()
	return uc
}

func (u *Upgrades) forget(uc *upgradedConn) {
	u.mu.Lock()
	delete(u.conns, uc)
	u.mu.Unlock()
	select {
	case u.gone <- struct{}{}:
	default:
	}
}

// upgradedConn is the client side of an upgraded exchange. Writes carry
// the backend's stream to the client; for a WebSocket they are followed
// frame by frame so that a Close frame can be put between two frames.
type upgradedConn struct {
	net.Conn
	u         *Upgrades
	websocket bool
	closeOnce sync.Once

	mu     sync.Mutex // serialises writes with goingAway
	frames frameTracker
	// closing is set once moat has sent its Close frame: the backend's
	// later bytes (its own Close, if any) are dropped, as RFC 6455 §5.5.1
	// allows no data after a Close.
	closing bool
}

func (c *upgradedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return len(p), nil
	}
	n, err := c.Conn.Write(p)
	if c.websocket {
		c.frames.advance(p[:n])
	}
	return n, err
}

// CloseWrite passes the backend's end of stream on (ReverseProxy asks for
// it) when the connection supports half-close.
func (c *upgradedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *upgradedConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.Conn.Close()
		c.u.forget(c)
	})
	return err
}

// goingAwayFrame is an unmasked Close frame with status 1001 ("going
// away", RFC 6455 §7.4.1): what a server sends when it shuts down.
var goingAwayFrame = []byte{0x88, 0x02, 0x03, 0xe9}

// goingAway sends a WebSocket Close frame if the stream to the client is
// between frames, and reports whether it did. A write stuck on a client
// that does not read is cut after a second so it cannot hold the drain.
func (c *upgradedConn) goingAway() bool {
	if !c.websocket {
		return false
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFrameWait))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || !c.frames.boundary() {
		return false
	}
	c.closing = true
	_, err := c.Conn.Write(goingAwayFrame)
	return err == nil
}

// IsWebSocket reports whether a request asks to upgrade to WebSocket
// (Upgrade is a comma-separated token list, compared case-insensitively).
func IsWebSocket(h http.Header) bool {
	for _, v := range h["Upgrade"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "websocket") {
				return true
			}
		}
	}
	return false
}
