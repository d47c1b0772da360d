package proxy

import (
	"net/http"
	"net/http/httputil"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/respwriter"
)

// newState builds a request state with its own ReverseProxy, whose hooks
// are method values bound to the state: ReverseProxy hands each hook the
// state it belongs to, with no context value and no allocation per
// request (the state and its ReverseProxy are pooled together).
func (h *Handler) newState() any {
	st := &reqState{h: h}
	st.rp = httputil.ReverseProxy{
		Rewrite:        st.rewriteOut,
		Transport:      stateTransport{st},
		ModifyResponse: st.modifyResponse,
		ErrorHandler:   st.errorHandler,
		// No flush after every write (a timer goroutine per response and
		// the header in a TLS record of its own). ingress-nginx's
		// proxy-buffering is off by default, so streamed responses must
		// still reach the client as they come: the response body flushes
		// when the upstream has nothing more to read yet (respBody,
		// upstream.Attempt.UpstreamWait), and ReverseProxy itself flushes
		// bodies of unknown length and event streams after each write.
		FlushInterval: 0,
		BufferPool:    respwriter.BufferPool{},
		ErrorLog:      h.rpLog,
	}
	return st
}

// reset clears the state for its next request, keeping its Handler and
// ReverseProxy.
func (st *reqState) reset() {
	h, rp := st.h, st.rp
	*st = reqState{h: h, rp: rp}
}

// stateTransport is the ReverseProxy's one RoundTripper: the
// exchange-and-retry loop (package retry) of the state it is bound to.
type stateTransport struct{ st *reqState }

func (t stateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.st.up.RoundTrip(req)
}

func (st *reqState) rewriteOut(pr *httputil.ProxyRequest) { st.h.rewriteOut(st, pr) }

func (st *reqState) modifyResponse(res *http.Response) error { return st.h.modifyResponse(st, res) }

func (st *reqState) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	st.h.errorHandler(st, w, r, err)
}
