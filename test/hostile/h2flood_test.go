package hostile

import (
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2conn opens an HTTP/2 connection to moat's HTTPS listener and sends the
// preface and SETTINGS.
func (m *moat) h2conn(t *testing.T) (*tls.Conn, *http2.Framer) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", m.addrs.HTTPS, &tls.Config{ServerName: host, RootCAs: m.roots, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN %q, want h2", p)
	}
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return c, fr
}

func requestBlock(path string) []byte {
	var b bytes.Buffer
	e := hpack.NewEncoder(&b)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", host}, {":path", path}} {
		_ = e.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return b.Bytes()
}

// servedMeanwhile checks that a well-behaved HTTP/2 client is served.
func (m *moat) servedMeanwhile(t *testing.T) {
	t.Helper()
	res, err := m.client(true).Get("https://" + host + "/ok")
	if err != nil {
		t.Fatalf("well-behaved client: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.ProtoMajor != 2 {
		t.Fatalf("well-behaved client: %s %d", res.Proto, res.StatusCode)
	}
}

// TestHTTP2RapidReset: a client opening and at once cancelling 5000
// streams (CVE-2023-44487) is contained: moat ends the connection or
// keeps up, and other clients are served throughout.
func TestHTTP2RapidReset(t *testing.T) {
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{})
	c, fr := m.h2conn(t)
	block := requestBlock("/reset")
	_ = c.SetWriteDeadline(time.Now().Add(15 * time.Second))
	go func() { // drain what moat sends, so its writes never block
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := fr.ReadFrame(); err != nil {
				return
			}
		}
	}()
	sent := 0
	for id := uint32(1); id < 10000; id += 2 {
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
			break
		}
		if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
		sent++
		if sent%500 == 0 {
			m.servedMeanwhile(t)
		}
	}
	m.servedMeanwhile(t)
	t.Logf("%d streams opened and reset", sent)
}

// TestHTTP2ContinuationFlood: a header block that never ends (CONTINUATION
// frames without END_HEADERS, CVE-2024-27316) gets the connection closed
// once it passes the header limit, and other clients are served.
func TestHTTP2ContinuationFlood(t *testing.T) {
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{})
	c, fr := m.h2conn(t)
	_ = c.SetWriteDeadline(time.Now().Add(15 * time.Second))
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: requestBlock("/flood"), EndStream: true}); err != nil {
		t.Fatal(err)
	}
	var e bytes.Buffer
	enc := hpack.NewEncoder(&e)
	_ = enc.WriteField(hpack.HeaderField{Name: "x-flood", Value: strings.Repeat("a", 1000)})
	chunk := e.Bytes()
	var werr error
	for i := 0; i < 20000 && werr == nil; i++ { // at most 20 MB
		werr = fr.WriteContinuation(1, false, chunk)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection still open after a 20 MB header block")
			}
			break
		}
		if h, ok := f.(*http2.HeadersFrame); ok && h.StreamID == 1 {
			t.Fatalf("the endless header block was answered")
		}
	}
	m.servedMeanwhile(t)
	for _, r := range rec.requests() {
		if strings.Contains(r, "/flood") {
			t.Errorf("the flood reached the backend")
		}
	}
}

// TestHTTP2StalledBody: an HTTP/2 request body that stops (10 bytes of a
// declared 100000) is answered 408 after client-body-timeout, on a
// buffered and a streamed location. (Before: never timed out.)
func TestHTTP2StalledBody(t *testing.T) {
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{config: map[string]string{"client-body-timeout": "1"}, extra: []string{streamIngress}})
	for _, path := range []string{"/buffered", "/stream"} {
		t.Run(path, func(t *testing.T) {
			c, fr := m.h2conn(t)
			var b bytes.Buffer
			e := hpack.NewEncoder(&b)
			for _, f := range [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", host}, {":path", path}, {"content-length", "100000"}} {
				_ = e.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b.Bytes(), EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			if err := fr.WriteData(1, false, []byte("0123456789")); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(8 * time.Second))
			dec := hpack.NewDecoder(4096, nil)
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("no answer to a stalled HTTP/2 body: %v", err)
				}
				if h, ok := f.(*http2.HeadersFrame); ok && h.StreamID == 1 {
					fields, err := dec.DecodeFull(h.HeaderBlockFragment())
					if err != nil {
						t.Fatal(err)
					}
					if fields[0].Name != ":status" || fields[0].Value != "408" {
						t.Errorf("answer %v, want :status 408", fields)
					}
					return
				}
				if r, ok := f.(*http2.RSTStreamFrame); ok && r.StreamID == 1 {
					t.Fatalf("stream reset (%v) instead of 408", r.ErrCode)
				}
			}
		})
	}
}
