package l4

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// udpPort is one UDP port: the socket clients send to and the sessions,
// one per client address, each with a connected socket to one endpoint.
type udpPort struct {
	s  *Server
	p  *port
	pc *net.UDPConn

	mu       sync.Mutex
	sessions map[netip.AddrPort]*session
	closed   bool
}

// session is nginx's UDP stream session: it ends after Responses
// datagrams per client datagram came back (proxy_responses), after the
// stream timeout without datagrams (proxy_timeout), or with the port.
type session struct {
	u      *udpPort
	client netip.AddrPort
	up     net.Conn
	t      *target

	mu        sync.Mutex
	requests  int
	responses int
	last      time.Time
	done      bool
}

const maxDatagram = 64 << 10

func (s *Server) listenUDP(p *port, addr string) error {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	pc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return err
	}
	u := &udpPort{s: s, p: p, pc: pc, sessions: map[netip.AddrPort]*session{}}
	p.close = u.close
	go u.read()
	return nil
}

func (u *udpPort) close() {
	u.mu.Lock()
	u.closed = true
	ss := u.sessions
	u.sessions = map[netip.AddrPort]*session{}
	u.mu.Unlock()
	u.pc.Close()
	for _, se := range ss {
		se.end()
	}
}

// read receives client datagrams until the socket closes.
func (u *udpPort) read() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := u.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error reported on the socket, and the like
		}
		u.forward(from, buf[:n])
	}
}

// forward sends one client datagram on the client's session, opening one
// when there is none (or the last one just ended).
func (u *udpPort) forward(from netip.AddrPort, b []byte) {
	for range 2 {
		se := u.session(from)
		if se == nil {
			return
		}
		se.mu.Lock()
		if se.done {
			se.mu.Unlock()
			continue
		}
		se.requests++
		se.last = time.Now()
		se.mu.Unlock()
		// Counted before the write: the reply can reach the client (and a
		// scrape) before Write returns, and nginx counts what it received.
		u.s.m.received.WithLabelValues(se.t.labels...).Add(float64(len(b)))
		if _, err := se.up.Write(b); err != nil {
			se.end()
			return
		}
		if se.t.stream.Settings.Responses == 0 {
			se.end() // nginx proxy_responses 0: no answer is awaited
		}
		return
	}
}

// session returns from's live session, or opens one.
func (u *udpPort) session(from netip.AddrPort) *session {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	if se := u.sessions[from]; se != nil {
		se.mu.Lock()
		done := se.done
		se.mu.Unlock()
		if !done {
			return se
		}
	}
	t := u.p.target.Load()
	if len(u.sessions) >= u.s.opts.MaxUDPSessions {
		u.s.m.udpDropped.WithLabelValues(t.labels...).Inc()
		return nil
	}
	var up net.Conn
	var err error
	for _, ep := range u.p.next(t, attempts(t.stream.Settings)) {
		// A connected socket: replies from anyone but the endpoint are
		// dropped by the kernel.
		if up, err = net.DialTimeout("udp", ep, u.s.opts.ConnectTimeout); err == nil {
			break
		}
		u.s.m.connectErrors.WithLabelValues(t.labels...).Inc()
	}
	if up == nil {
		u.s.m.udpDropped.WithLabelValues(t.labels...).Inc()
		return nil
	}
	se := &session{u: u, client: from, up: up, t: t, last: time.Now()}
	u.sessions[from] = se
	u.s.m.total.WithLabelValues(t.labels...).Inc()
	u.s.m.active.WithLabelValues(t.labels...).Inc()
	go se.replies()
	return se
}

// replies relays the endpoint's datagrams to the client until the
// session ends.
func (se *session) replies() {
	defer se.end()
	buf := make([]byte, maxDatagram)
	idle := se.t.stream.Settings.Timeout
	for {
		if idle > 0 {
			se.mu.Lock()
			deadline := se.last.Add(idle)
			se.mu.Unlock()
			_ = se.up.SetReadDeadline(deadline)
		}
		n, err := se.up.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				se.mu.Lock()
				recent := time.Since(se.last) < idle
				se.mu.Unlock()
				if recent {
					continue
				}
			}
			return
		}
		if _, err := se.u.pc.WriteToUDPAddrPort(buf[:n], se.client); err != nil {
			return
		}
		se.u.s.m.sent.WithLabelValues(se.t.labels...).Add(float64(n))
		se.mu.Lock()
		se.responses++
		se.last = time.Now()
		enough := se.responses >= se.t.stream.Settings.Responses*se.requests
		se.mu.Unlock()
		if enough {
			return
		}
	}
}

// end closes the session once and forgets it.
func (se *session) end() {
	se.mu.Lock()
	if se.done {
		se.mu.Unlock()
		return
	}
	se.done = true
	se.mu.Unlock()
	se.up.Close()
	se.u.s.m.active.WithLabelValues(se.t.labels...).Dec()
	u := se.u
	u.mu.Lock()
	if u.sessions[se.client] == se {
		delete(u.sessions, se.client)
	}
	u.mu.Unlock()
}
