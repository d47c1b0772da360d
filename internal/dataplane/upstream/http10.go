package upstream

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/moat-ingress/moat/internal/dataplane/oneshot"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
)

// HTTP10 is the exchanger of plain-HTTP routes with proxy-http-version
// 1.0. Protocol upgrades (which HTTP/1.0 cannot carry) go to Next.
type HTTP10 struct{ Next Exchanger }

// Exchange implements Exchanger.
func (t HTTP10) Exchange(r *http.Request, at Attempt) (*http.Response, error) {
	if r.Header.Get("Upgrade") != "" {
		return t.Next.Exchange(r, at)
	}
	return roundTripHTTP10(r, at)
}

// RoundTripHTTP10 sends r over a new connection as an HTTP/1.0 request,
// as nginx's proxy_http_version 1.0 (ingress-nginx's proxy-http-version)
// does: the request line says HTTP/1.0, a body of unknown length is read
// first and sent with a Content-Length (HTTP/1.0 has no chunked coding),
// and the connection closes after the response (the caller sets r.Close
// for the Connection: close header nginx sends). The proxy's
// proxy-body-size limit bounds a body read here.
func RoundTripHTTP10(r *http.Request) (*http.Response, error) { return roundTripHTTP10(r, nil) }

func roundTripHTTP10(r *http.Request, at Attempt) (*http.Response, error) {
	ctx := r.Context()
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength < 0 {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		r = r.Clone(ctx)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		r.TransferEncoding = nil
	}
	conn, err := exchange.NewDialer(0).Dial(ctx, "tcp", r.URL.Host, at)
	if err != nil {
		return nil, err
	}
	oc := oneshot.Watch(ctx, conn)
	bw := bufio.NewWriter(&http10Writer{w: conn})
	if err := r.Write(bw); err != nil {
		return nil, oc.Fail(err)
	}
	if err := bw.Flush(); err != nil {
		return nil, oc.Fail(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), r)
	if err != nil {
		return nil, oc.Fail(err)
	}
	res.Body = oc.Body(res.Body)
	return res, nil
}

// http10Writer rewrites the request line that http.Request.Write produces
// ("METHOD target HTTP/1.1") to HTTP/1.0, then passes bytes through.
type http10Writer struct {
	w    io.Writer
	line []byte
	done bool
}

func (h *http10Writer) Write(p []byte) (int, error) {
	if h.done {
		return h.w.Write(p)
	}
	h.line = append(h.line, p...)
	i := bytes.Index(h.line, []byte("\r\n"))
	if i < 0 {
		if len(h.line) > 64<<10 {
			return 0, fmt.Errorf("request line longer than 64 KiB")
		}
		return len(p), nil
	}
	h.done = true
	out, ok := bytes.CutSuffix(h.line[:i], []byte(" HTTP/1.1"))
	if !ok {
		return 0, fmt.Errorf("unexpected request line %q", h.line[:i])
	}
	out = append(append(out, " HTTP/1.0"...), h.line[i:]...)
	if _, err := h.w.Write(out); err != nil {
		return 0, err
	}
	h.line = nil
	return len(p), nil
}
