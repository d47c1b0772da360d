package h1parse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// FuzzReadRequest checks that ReadRequest never panics and is never more
// lenient than http.ReadRequest: whatever it accepts, net/http accepts too,
// with the same request, the same body and the same bytes left for the next
// request.
func FuzzReadRequest(f *testing.F) {
	for _, tc := range corpus() {
		// The heads over the limits only reach the limit checks (TestReject
		// covers them), and the fuzzer spends minutes minimizing their mutants.
		if len(tc.raw) <= 4096 {
			f.Add([]byte(tc.raw))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		req, err := ReadRequest(br, Limits{})

		// A head must parse the same when it does not fit br's buffer (the
		// reason may differ: which limit is seen first depends on how the
		// bytes arrive).
		sreq, serr := ReadRequest(bufio.NewReaderSize(bytes.NewReader(data), 16), Limits{})
		if status(err) != status(serr) {
			t.Fatalf("4 KiB buffer: %v, 16 B buffer: %v\n%q", err, serr, data)
		}
		if err == nil && (sreq.RequestURI != req.RequestURI || !reflect.DeepEqual(sreq.Header, req.Header)) {
			t.Fatalf("16 B buffer: %q %v, 4 KiB: %q %v\n%q", sreq.RequestURI, sreq.Header, req.RequestURI, req.Header, data)
		}

		if err != nil {
			var e *Error
			if !errors.As(err, &e) && err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		body, berr := io.ReadAll(req.Body)
		if berr != nil {
			var e *Error
			if !errors.As(berr, &e) && berr != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected body error type %T: %v", berr, berr)
			}
		}

		// The empty lines h1parse skips before a request line (see the package comment).
		raw := data
		for i := 0; i < 2 && bytes.HasPrefix(raw, []byte("\r\n")); i++ {
			raw = raw[2:]
		}
		nbr := bufio.NewReader(bytes.NewReader(raw))
		nreq, err := http.ReadRequest(nbr)
		if err != nil {
			t.Fatalf("h1parse accepts, net/http rejects: %v\n%q", err, data)
		}
		nreq.Header.Del("Host") // net/http's server does this, http.ReadRequest does not
		for _, c := range []struct {
			what      string
			got, want any
		}{
			{"method", req.Method, nreq.Method},
			{"request URI", req.RequestURI, nreq.RequestURI},
			{"URL", req.URL.String(), nreq.URL.String()},
			{"host", req.Host, nreq.Host},
			{"proto", req.Proto, nreq.Proto},
			{"minor", req.ProtoMinor, nreq.ProtoMinor},
			{"header", req.Header, nreq.Header},
			{"content length", req.ContentLength, nreq.ContentLength},
			{"transfer encoding", req.TransferEncoding, nreq.TransferEncoding},
			{"close", req.Close, nreq.Close},
		} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Fatalf("%s: h1parse %#v, net/http %#v\n%q", c.what, c.got, c.want, data)
			}
		}
		nbody, nberr := io.ReadAll(nreq.Body)
		if berr != nil {
			return
		}
		if nberr != nil {
			t.Fatalf("body: h1parse reads %q, net/http fails: %v\n%q", body, nberr, data)
		}
		if !bytes.Equal(body, nbody) {
			t.Fatalf("body: h1parse %q, net/http %q\n%q", body, nbody, data)
		}
		if !reflect.DeepEqual(req.Trailer, nreq.Trailer) {
			t.Fatalf("trailer: h1parse %#v, net/http %#v\n%q", req.Trailer, nreq.Trailer, data)
		}
		rest, _ := io.ReadAll(br)
		nrest, _ := io.ReadAll(nbr)
		if !bytes.Equal(rest, nrest) {
			t.Fatalf("next request: h1parse at %q, net/http at %q\n%q", rest, nrest, data)
		}
	})
}

// BenchmarkReadRequest compares ReadRequest with http.ReadRequest on a typical
// browser request (15 header fields), body-less, reusing the bufio.Reader as
// a server does.
func BenchmarkReadRequest(b *testing.B) {
	var sr strings.Reader
	br := bufio.NewReader(&sr)
	b.Run("h1parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(browserRequest)))
		for b.Loop() {
			sr.Reset(browserRequest)
			br.Reset(&sr)
			req, err := ReadRequest(br, Limits{})
			if err != nil || len(req.Header) != 13 {
				b.Fatal(err, req)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(browserRequest)))
		for b.Loop() {
			sr.Reset(browserRequest)
			br.Reset(&sr)
			req, err := http.ReadRequest(br)
			if err != nil || len(req.Header) != 13 {
				b.Fatal(err, req)
			}
		}
	})
}

// status is an error's Status if it is an *Error, else its text.
func status(err error) any {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	if err == nil {
		return nil
	}
	return err.Error()
}
