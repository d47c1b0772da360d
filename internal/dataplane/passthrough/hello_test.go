package passthrough

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"
)

// clientHello returns the bytes crypto/tls's client sends first for sni.
func clientHello(t testing.TB, sni string) []byte {
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		_ = tc.SetDeadline(time.Now().Add(2 * time.Second))
		_ = tc.Handshake()
		c.Close()
	}()
	_ = s.SetReadDeadline(time.Now().Add(2 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if _, perr := ServerName(out); !errors.Is(perr, errNeedMore) || err != nil {
			return out
		}
	}
}

func TestServerName(t *testing.T) {
	for _, sni := range []string{"pass.example.com", "a.b", ""} {
		b := clientHello(t, sni)
		got, err := ServerName(b)
		if err != nil || got != sni {
			t.Errorf("SNI %q: got %q, %v", sni, got, err)
		}
		// Every prefix is incomplete, never an error or a wrong name.
		for i := 0; i < len(b); i++ {
			if _, err := ServerName(b[:i]); !errors.Is(err, errNeedMore) {
				t.Fatalf("SNI %q: prefix %d: got %v, want errNeedMore", sni, i, err)
			}
		}
	}
	// One ClientHello split across two records.
	b := clientHello(t, "split.example.com")
	body := b[recordHeader:]
	half := len(body) / 2
	split := append([]byte{0x16, 3, 1, byte(half >> 8), byte(half)}, body[:half]...)
	rest := len(body) - half
	split = append(split, 0x16, 3, 1, byte(rest>>8), byte(rest))
	split = append(split, body[half:]...)
	if got, err := ServerName(split); err != nil || got != "split.example.com" {
		t.Errorf("split records: got %q, %v", got, err)
	}
	if _, err := ServerName([]byte("GET / HTTP/1.1\r\n")); !errors.Is(err, errNotTLS) {
		t.Errorf("plain HTTP: got %v", err)
	}
}

func FuzzServerName(f *testing.F) {
	f.Add(clientHello(f, "fuzz.example.com"))
	f.Add(clientHello(f, ""))
	f.Add([]byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := ServerName(b)
		if err != nil && name != "" {
			t.Fatalf("name %q with error %v", name, err)
		}
	})
}
