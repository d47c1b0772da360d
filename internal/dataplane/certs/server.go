package certs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Server chooses the tls.Config of each handshake by SNI: the listener
// policy (routecfg.ServerTLS) for every host, plus a client-certificate
// request for hosts with ClientAuth and the suites of hosts with
// ssl-ciphers. The configs are built once per Apply
// and swapped whole; GetConfigForClient only looks one up.
type Server struct {
	certs      *Store
	tickets    *tickets
	nextProtos []string
	table      atomic.Pointer[serverTable]
}

type serverTable struct {
	base     *tls.Config
	exact    map[string]*tls.Config
	wildcard map[string]*tls.Config
	// known holds every host of the configuration when unknown names are
	// refused (ssl-reject-handshake); nil otherwise.
	known, knownWild map[string]bool
}

// NewServer returns a Server that takes certificates from store. now is
// the clock for session-ticket rotation and expiry (nil: time.Now).
// nextProtos are the ALPN protocols offered (h2, http/1.1).
func NewServer(store *Store, now func() time.Time, nextProtos []string) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{certs: store, tickets: newTickets(now), nextProtos: nextProtos}
	s.Apply(nil)
	return s
}

// Config is the listener's tls.Config: it only defers to
// GetConfigForClient, so policy changes apply to the next handshake.
func (s *Server) Config() *tls.Config {
	return &tls.Config{
		GetConfigForClient: s.GetConfigForClient,
		// Used by net/http only to check that h2 is offered.
		NextProtos:     s.nextProtos,
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.certs.GetCertificate,
	}
}

// Apply builds the configs of cfg (nil: the defaults).
func (s *Server) Apply(cfg *routecfg.Config) {
	pol := routecfg.DefaultServerTLS()
	if cfg != nil && cfg.ServerTLS != nil {
		pol = cfg.ServerTLS
	}
	s.tickets.setTimeout(pol.SessionTimeout)
	base := s.build(pol)
	t := &serverTable{base: base, exact: map[string]*tls.Config{}, wildcard: map[string]*tls.Config{}}
	if pol.RejectUnknownSNI {
		t.known, t.knownWild = map[string]bool{}, map[string]bool{}
	}
	if cfg != nil {
		for _, vh := range cfg.VirtualHosts {
			if vh == nil {
				continue
			}
			if t.known != nil {
				if key, wild, ok := hostKey(vh.Host); ok && wild {
					t.knownWild[key] = true
				} else if ok {
					t.known[key] = true
				}
			}
			mtls := vh.ClientAuth != nil && vh.ClientAuth.CAs != nil
			if !mtls && len(vh.TLSCipherSuites) == 0 {
				continue
			}
			key, wild, ok := hostKey(vh.Host)
			if !ok {
				continue
			}
			m := t.exact
			if wild {
				m = t.wildcard
			}
			if _, dup := m[key]; dup {
				continue
			}
			c := base.Clone()
			if len(vh.TLSCipherSuites) > 0 {
				c.CipherSuites = vh.TLSCipherSuites
			}
			if mtls {
				// Request, never require or verify here: a missing or
				// bad certificate must become an HTTP 400 (or a redirect
				// to auth-tls-error-page), as nginx answers, not a
				// handshake alert. The handler verifies (VerifyClient).
				// ClientCAs only names the acceptable CAs to the client.
				c.ClientAuth = tls.RequestClientCert
				c.ClientCAs = vh.ClientAuth.CAs
			}
			m[key] = c
		}
	}
	s.table.Store(t)
}

func (s *Server) build(p *routecfg.ServerTLS) *tls.Config {
	c := &tls.Config{
		MinVersion:             p.MinVersion,
		MaxVersion:             p.MaxVersion,
		CipherSuites:           p.CipherSuites,
		GetCertificate:         s.certs.GetCertificate,
		NextProtos:             s.nextProtos,
		SessionTicketsDisabled: !p.SessionTickets,
	}
	if p.DisableHTTP2 {
		c.NextProtos = []string{"http/1.1"}
	}
	if p.SessionTickets {
		c.WrapSession = s.tickets.wrap
		c.UnwrapSession = s.tickets.unwrap
	}
	return c
}

// errUnknownName refuses a handshake under ssl-reject-handshake.
var errUnknownName = errors.New("ssl-reject-handshake: the client names no served host")

// GetConfigForClient is for tls.Config.GetConfigForClient.
func (s *Server) GetConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	t := s.table.Load()
	if c, ok := lookup(t.exact, t.wildcard, hello.ServerName); ok {
		return c, nil
	}
	if t.known != nil {
		if _, ok := lookup(t.known, t.knownWild, hello.ServerName); !ok {
			return nil, errUnknownName
		}
	}
	return t.base, nil
}

// Ticket keys rotate every ticketRotation; tickets sealed with the
// previous keys stay readable until they expire, so a rotation or a config
// swap never forces full handshakes. Keys live in the Server, not in the
// config, and are never written anywhere.
const (
	ticketRotation = time.Hour
	ticketKeysKept = 3
	ticketVersion  = 1
)

// tickets seals session state into tickets with AES-GCM under rotating
// random keys, and enforces ssl-session-timeout from the time a ticket
// was issued (Go's own ticket lifetime is fixed at 7 days).
type tickets struct {
	now     func() time.Time
	timeout atomic.Int64 // nanoseconds

	mu   sync.Mutex
	keys atomic.Pointer[[]ticketKey] // newest first
}

type ticketKey struct {
	id      uint32
	created time.Time
	aead    cipher.AEAD
}

func newTickets(now func() time.Time) *tickets {
	t := &tickets{now: now}
	empty := []ticketKey{}
	t.keys.Store(&empty)
	t.timeout.Store(int64(10 * time.Minute))
	return t
}

func (t *tickets) setTimeout(d time.Duration) {
	if d <= 0 {
		d = 10 * time.Minute
	}
	t.timeout.Store(int64(d))
}

// current returns the sealing key, rotating it when it is too old.
func (t *tickets) current(now time.Time) (ticketKey, error) {
	keys := *t.keys.Load()
	if len(keys) > 0 && now.Sub(keys[0].created) < ticketRotation {
		return keys[0], nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	keys = *t.keys.Load()
	if len(keys) > 0 && now.Sub(keys[0].created) < ticketRotation {
		return keys[0], nil
	}
	var raw [32]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		return ticketKey{}, err
	}
	block, err := aes.NewCipher(raw[:])
	if err != nil {
		return ticketKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return ticketKey{}, err
	}
	var id uint32
	if len(keys) > 0 {
		id = keys[0].id + 1
	}
	k := ticketKey{id: id, created: now, aead: aead}
	next := append([]ticketKey{k}, keys...)
	if len(next) > ticketKeysKept {
		next = next[:ticketKeysKept]
	}
	t.keys.Store(&next)
	return k, nil
}

// ticket layout: version(1) key id(4) issued unix seconds(8) nonce(12)
// sealed state; the header is authenticated as additional data.
const ticketHeader = 1 + 4 + 8

func (t *tickets) wrap(_ tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	now := t.now()
	k, err := t.current(now)
	if err != nil {
		return nil, err
	}
	state, err := ss.Bytes()
	if err != nil {
		return nil, err
	}
	ns := k.aead.NonceSize()
	out := make([]byte, ticketHeader+ns, ticketHeader+ns+len(state)+k.aead.Overhead())
	out[0] = ticketVersion
	binary.BigEndian.PutUint32(out[1:5], k.id)
	binary.BigEndian.PutUint64(out[5:13], uint64(now.Unix()))
	if _, err := io.ReadFull(rand.Reader, out[ticketHeader:]); err != nil {
		return nil, err
	}
	return k.aead.Seal(out, out[ticketHeader:], state, out[:ticketHeader]), nil
}

// unwrap returns nil, nil for tickets it cannot or should not use: the
// handshake then continues as a full one.
func (t *tickets) unwrap(identity []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
	if len(identity) < ticketHeader || identity[0] != ticketVersion {
		return nil, nil
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(identity[5:13])), 0)
	if age := t.now().Sub(issued); age < -time.Minute || age > time.Duration(t.timeout.Load()) {
		return nil, nil
	}
	id := binary.BigEndian.Uint32(identity[1:5])
	for _, k := range *t.keys.Load() {
		if k.id != id {
			continue
		}
		ns := k.aead.NonceSize()
		if len(identity) < ticketHeader+ns {
			return nil, nil
		}
		state, err := k.aead.Open(nil, identity[ticketHeader:ticketHeader+ns], identity[ticketHeader+ns:], identity[:ticketHeader])
		if err != nil {
			return nil, nil
		}
		ss, err := tls.ParseSessionState(state)
		if err != nil {
			return nil, nil // an error would abort the handshake
		}
		return ss, nil
	}
	return nil, nil
}
