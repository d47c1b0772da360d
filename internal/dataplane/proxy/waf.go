package proxy

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/errorpage"
)

// applyWAF runs the route's WAF rules on the request before anything is
// sent upstream (package wafreq). It returns true when it answered: the
// rule's status (403 by default) on an interruption; nothing reaches the
// upstream then.
func (h *Handler) applyWAF(st *reqState, r *http.Request) bool {
	w := st.rt.Policy.WAF
	id := st.reqID
	if !w.TransactionID.IsZero() {
		id = string(h.expand(nil, w.TransactionID, st, r))
	}
	v := st.waf.Request(w, id, r, st.remoteAddr(r), st.localAddr(), &st.body, h.logger, st.reqID)
	switch {
	case v.BodyFailed:
		h.clientBodyFailed(st, r)
	case v.Status == 0:
		return false
	case v.Location != "":
		h.redirect(st, v.Status, v.Location)
	default:
		if v.Drop {
			closeAfter(&st.rw)
		}
		h.local(st, v.Status)
	}
	return true
}

// wafResponse runs the response-header phase on the upstream's answer;
// an interruption replaces the response with the rule's status.
func (h *Handler) wafResponse(st *reqState, res *http.Response) {
	code := st.waf.Response(res)
	if code == 0 {
		return
	}
	body := errorpage.Body(code)
	res.Body.Close()
	res.StatusCode, res.Status = code, strconv.Itoa(code)+" "+http.StatusText(code)
	res.Header = http.Header{"Content-Length": {strconv.Itoa(len(body))}}
	errorpage.Plain(res.Header)
	res.ContentLength = int64(len(body))
	res.Body = io.NopCloser(strings.NewReader(string(body)))
	res.TransferEncoding = nil
}
