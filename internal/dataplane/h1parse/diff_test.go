package h1parse

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// record is what a handler sees of a request.
type record struct {
	Method, RequestURI, URL, Host, Proto string
	ProtoMajor, ProtoMinor               int
	Header, Trailer                      http.Header
	ContentLength                        int64
	TransferEncoding                     []string
	Close                                bool
	Body                                 string
	BodyErr                              bool
}

func recordOf(r *http.Request) record {
	body, err := io.ReadAll(r.Body)
	rec := record{
		Method: r.Method, RequestURI: r.RequestURI, URL: r.URL.String(), Host: r.Host, Proto: r.Proto,
		ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor, Header: r.Header.Clone(), Trailer: r.Trailer.Clone(),
		ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding, Close: r.Close,
		Body: string(body), BodyErr: err != nil,
	}
	if rec.BodyErr {
		rec.Body = ""
	}
	return rec
}

// outcome is how one connection's bytes were taken: the requests accepted,
// and whether the connection ended on a rejection.
type outcome struct {
	Requests []record
	Rejected bool
}

// viaH1parse runs raw through ReadRequest as a server would: request after
// request until EOF, a rejection, a body error or Close.
func viaH1parse(raw string, bufSize int) outcome {
	return viaH1parseFrom(strings.NewReader(raw), bufSize)
}

func viaH1parseFrom(r io.Reader, bufSize int) outcome {
	br := bufio.NewReaderSize(r, bufSize)
	var o outcome
	for {
		req, err := ReadRequest(br, Limits{})
		if err == io.EOF {
			return o
		}
		if err != nil {
			o.Rejected = true
			return o
		}
		rec := recordOf(req)
		o.Requests = append(o.Requests, rec)
		if rec.BodyErr {
			o.Rejected = true
			return o
		}
		if req.Close {
			return o
		}
	}
}

// netServer is a real net/http server on loopback that records requests.
type netServer struct {
	addr string
	mu   sync.Mutex
	recs []record
}

func startNetServer(t *testing.T) *netServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ns := &netServer{addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recordOf(r)
		ns.mu.Lock()
		ns.recs = append(ns.recs, rec)
		ns.mu.Unlock()
		w.Header().Set("Content-Length", "2")
		w.Write([]byte("ok"))
	}), ErrorLog: nil}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ns
}

// send writes raw on a new connection, half-closes it and reads every
// response until the server closes.
func (ns *netServer) send(t *testing.T, raw string) outcome {
	ns.mu.Lock()
	ns.recs = nil
	ns.mu.Unlock()
	c, err := net.Dial("tcp", ns.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A safety net against a hung test, not a timed assertion.
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		io.WriteString(c, raw)
		c.(*net.TCPConn).CloseWrite()
	}()
	var o outcome
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			o.Rejected = true
		}
	}
	ns.mu.Lock()
	o.Requests = ns.recs
	ns.mu.Unlock()
	for _, r := range o.Requests {
		if r.BodyErr {
			o.Rejected = true
		}
	}
	return o
}

// TestDifferential checks h1parse against net/http's server on every corpus case.
func TestDifferential(t *testing.T) {
	ns := startNetServer(t)
	seen := map[string]bool{}
	for _, tc := range corpus() {
		if seen[tc.name] {
			t.Fatalf("duplicate corpus name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			want := ns.send(t, tc.raw)
			got := viaH1parse(tc.raw, 4096)
			same := reflect.DeepEqual(got, want)
			reason, listed := deliberatelyDifferent[tc.name]
			switch {
			case !same && !listed:
				t.Errorf("h1parse and net/http differ:\nh1parse  %+v\nnet/http %+v", got, want)
			case same && listed:
				t.Errorf("listed as deliberately different (%s) but both agree: %+v", reason, got)
			}
		})
	}
	for name := range deliberatelyDifferent {
		if !seen[name] {
			t.Errorf("deliberatelyDifferent names %q, which is not in the corpus", name)
		}
	}
}

// TestSmallBuffer parses the corpus through bufio.Readers too small for a head,
// so heads take the copying path; results must not change, and nothing past a
// head may be consumed. Chunk lines and trailer sections are bounded by the
// buffer (as in net/http), so with a tiny buffer a chunked body may fail
// where it did not, but only as a body error.
func TestSmallBuffer(t *testing.T) {
	for _, tc := range corpus() {
		want := viaH1parse(tc.raw, 4096)
		sizes := []int{4096, 100, 1000}
		for size := 16; size <= 64; size++ {
			sizes = append(sizes, size)
		}
		for i, size := range sizes {
			got := viaH1parse(tc.raw, size)
			if i < 3 {
				// Bytes arriving one at a time, as from a slow client.
				got = viaH1parseFrom(iotest.OneByteReader(strings.NewReader(tc.raw)), size)
			}
			if reflect.DeepEqual(got, want) {
				continue
			}
			n := len(got.Requests)
			if n > 0 && n <= len(want.Requests) && got.Requests[n-1].BodyErr && got.Requests[n-1].TransferEncoding != nil {
				g, w := got.Requests[n-1], want.Requests[n-1]
				g.BodyErr, g.Body, g.Trailer = false, w.Body, w.Trailer
				if reflect.DeepEqual(got.Requests[:n-1], want.Requests[:n-1]) && reflect.DeepEqual(g, w) {
					continue
				}
			}
			t.Errorf("%s: buffer %d:\n got %+v\nwant %+v", tc.name, size, got, want)
		}
	}
}

func TestErrorType(t *testing.T) {
	_, err := ReadRequest(bufio.NewReader(strings.NewReader("GET / HTTP/2.0\r\n\r\n")), Limits{})
	var e *Error
	if !errors.As(err, &e) || e.Status != 505 || err.Error() != "h1parse: 505 unsupported HTTP version" {
		t.Fatalf("got %v", err)
	}
	if _, err := ReadRequest(bufio.NewReader(strings.NewReader("")), Limits{}); err != io.EOF {
		t.Fatalf("empty connection: got %v, want io.EOF", err)
	}
	if _, err := ReadRequest(bufio.NewReader(strings.NewReader("\r\n")), Limits{}); err != io.EOF {
		t.Fatalf("CRLF then EOF: got %v, want io.EOF", err)
	}
	if _, err := ReadRequest(bufio.NewReader(strings.NewReader("GET")), Limits{}); err != io.ErrUnexpectedEOF {
		t.Fatalf("partial head: got %v, want io.ErrUnexpectedEOF", err)
	}
}
