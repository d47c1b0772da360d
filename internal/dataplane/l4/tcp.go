package l4

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"
)

// listenTCP binds p's port and accepts until p.close.
func (s *Server) listenTCP(p *port, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p.close = func() { ln.Close() }
	go s.acceptTCP(p, ln)
	return nil
}

func (s *Server) acceptTCP(p *port, ln net.Listener) {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: wait a little, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("stream accept failed; retrying", "protocol", p.key.proto, "port", p.key.port, "err", err, "retry_ms", float64(backoff.Microseconds())/1000)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.track(c) {
			c.Close()
			continue
		}
		go func() {
			defer s.untrack(c)
			s.serveTCP(p, c)
		}()
	}
}

// serveTCP proxies one client connection: the PROXY header when the
// entry decodes one, an upstream by round robin (the next one when
// connecting fails), the PROXY header when the entry sends one, then
// bytes both ways until either side closes or the stream timeout passes
// without data.
func (s *Server) serveTCP(p *port, c net.Conn) {
	defer c.Close()
	t := p.target.Load()
	st := t.stream
	s.m.total.WithLabelValues(t.labels...).Inc()
	active := s.m.active.WithLabelValues(t.labels...)
	active.Inc()
	defer active.Dec()

	var client io.Reader = c
	if st.ProxyDecode {
		br := bufio.NewReader(c)
		if _, err := readProxyHeader(c, br, s.opts.ProxyProtocolTimeout); err != nil {
			s.m.proxyErrors.WithLabelValues(t.labels...).Inc()
			s.log.Debug("stream connection closed: no valid PROXY protocol header", "port", p.key.port, "client", c.RemoteAddr().String(), "err", err)
			return
		}
		client = br
	}
	up, err := s.dialTCP(p, t)
	if err != nil {
		s.log.Warn("stream connection closed: no endpoint could be reached", "port", p.key.port, "service", st.Service, "err", err)
		return
	}
	defer up.Close()
	if st.ProxyEncode {
		// nginx's proxy_protocol sends version 1 with the connection's
		// own addresses (the decoded ones only with the realip module,
		// which ingress-nginx leaves off: enable-real-ip false).
		if _, err := proxyproto.HeaderProxyFromAddrs(1, c.RemoteAddr(), c.LocalAddr()).WriteTo(up); err != nil {
			return
		}
	}
	pipe(c, client, up, st.Settings.Timeout, s.m.received.WithLabelValues(t.labels...), s.m.sent.WithLabelValues(t.labels...))
}

// readProxyHeader reads a PROXY protocol v1 or v2 header within timeout;
// a connection without one is an error, as nginx's listen proxy_protocol.
func readProxyHeader(c net.Conn, br *bufio.Reader, timeout time.Duration) (*proxyproto.Header, error) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	h, err := proxyproto.Read(br)
	if err != nil {
		return nil, err
	}
	return h, c.SetReadDeadline(time.Time{})
}

// dialTCP connects to an endpoint of t: round robin, trying the next one
// on failure as proxy-stream-next-upstream allows.
func (s *Server) dialTCP(p *port, t *target) (net.Conn, error) {
	st := t.stream.Settings
	ctx := s.cut
	if st.NextUpstreamTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.NextUpstreamTimeout)
		defer cancel()
	}
	d := net.Dialer{Timeout: s.opts.ConnectTimeout}
	var errs []error
	for _, ep := range p.next(t, attempts(st)) {
		c, err := d.DialContext(ctx, "tcp", ep)
		if err == nil {
			return c, nil
		}
		s.m.connectErrors.WithLabelValues(t.labels...).Inc()
		s.log.Debug("stream endpoint unreachable; trying the next", "port", p.key.port, "endpoint", ep, "err", err)
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, errors.New("no endpoints")
	}
	return nil, errors.Join(errs...)
}

// pipe copies both ways until one direction ends, then closes both: nginx
// ends a stream session when either side closes (proxy_half_close off,
// its default). idle is nginx's proxy_timeout: the connection is closed
// after that long without data in either direction.
func pipe(c net.Conn, client io.Reader, up net.Conn, idle time.Duration, received, sent interface{ Add(float64) }) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan struct{}, 2)
	go func() { copyIdle(up, client, c, idle, &last, received); done <- struct{}{} }()
	go func() { copyIdle(c, up, up, idle, &last, sent); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// copyIdle copies src (read from srcConn) to dst; a read that times out
// while the other direction saw data within idle goes on.
func copyIdle(dst net.Conn, src io.Reader, srcConn net.Conn, idle time.Duration, last *atomic.Int64, count interface{ Add(float64) }) {
	buf := make([]byte, 32<<10)
	for {
		if idle > 0 {
			_ = srcConn.SetReadDeadline(time.Now().Add(idle))
		}
		n, err := src.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			if idle > 0 {
				_ = dst.SetWriteDeadline(time.Now().Add(idle))
			}
			w, werr := dst.Write(buf[:n])
			count.Add(float64(w))
			if werr != nil {
				return
			}
			last.Store(time.Now().UnixNano())
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && idle > 0 && time.Since(time.Unix(0, last.Load())) < idle {
				continue
			}
			return
		}
	}
}
