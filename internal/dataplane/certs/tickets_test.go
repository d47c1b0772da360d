package certs

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestTicketRotation: keys rotate hourly, tickets sealed under the
// previous key still resume until ssl-session-timeout, and tampered or
// foreign tickets are ignored (a full handshake, never an error).
func TestTicketRotation(t *testing.T) {
	ca := newBenchCA(t)
	s, cfg, _ := benchServer(t, ca, "a.example", nil)
	pol := routecfg.DefaultServerTLS()
	pol.SessionTimeout = 3 * time.Hour
	cfg.ServerTLS = pol
	s.Apply(cfg)
	srv := s.Config()
	newClient := func() *tls.Config {
		return &tls.Config{ServerName: "a.example", RootCAs: ca.pool, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	}
	a, b := newClient(), newClient()
	defer clockSkew.Store(0)
	for _, step := range []struct {
		cli    *tls.Config
		skew   time.Duration
		resume bool
	}{
		{a, 0, false},                // a gets a ticket under the first key
		{b, 90 * time.Minute, false}, // b's ticket rotates the key
		{a, 100 * time.Minute, true}, // a's ticket, under the previous key, resumes
		{b, 5 * time.Hour, false},    // b's newest ticket is past the 3h timeout
	} {
		clockSkew.Store(int64(step.skew))
		st, _, err := handshakeRead(srv, step.cli)
		if err != nil || st.DidResume != step.resume {
			t.Fatalf("at +%s: resumed %v, want %v (%v)", step.skew, st.DidResume, step.resume, err)
		}
	}
	if n := len(*s.tickets.keys.Load()); n < 2 {
		t.Errorf("%d ticket keys, want rotated keys kept", n)
	}
	for name, id := range map[string][]byte{"short": {1, 0, 0}, "foreign": []byte("not a moat ticket, long enough to parse")} {
		if got, err := s.tickets.unwrap(id, tls.ConnectionState{}); got != nil || err != nil {
			t.Errorf("%s ticket: %v %v", name, got, err)
		}
	}
}
