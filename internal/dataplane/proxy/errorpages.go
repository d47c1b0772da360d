package proxy

import (
	"io"
	"net/http"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/errorpage"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// errorPages is the route's custom-http-errors, or nil.
func (st *reqState) errorPages() *routecfg.ErrorPages {
	if st.rt == nil || st.rt.Policy == nil {
		return nil
	}
	return st.rt.Policy.ErrorPages
}

// interceptError replaces an upstream answer listed in custom-http-errors
// (with proxy_intercept_errors on) by the error page.
func (h *Handler) interceptError(st *reqState, res *http.Response) {
	ep := st.errorPages()
	if ep == nil || !ep.Intercept || !ep.Has(res.StatusCode) || st.http.req == nil {
		return
	}
	res.Body.Close()
	errorpage.Replace(res, h.errorPage(st, res.StatusCode))
}

// localErrorPage answers with the error page instead of moat's own answer
// code when the route lists it (nginx's error_page applies to the answers
// nginx makes itself whatever proxy_intercept_errors says); false: code
// is not listed, and the caller answers itself.
func (h *Handler) localErrorPage(st *reqState, code int) bool {
	ep := st.errorPages()
	if ep == nil || code < 400 || !ep.Has(code) || st.http.req == nil || st.rw.WroteHeader || st.rw.Hijacked {
		return false
	}
	page := h.errorPage(st, code)
	defer page.Body.Close()
	hdr := st.rw.Header()
	errorpage.CopyHeader(hdr, page)
	h.decorate(st, hdr, page.StatusCode)
	if st.hsts != "" {
		hdr["Strict-Transport-Security"] = []string{st.hsts}
	}
	st.rw.WriteHeader(page.StatusCode)
	if st.http.req.Method != http.MethodHead {
		io.Copy(&st.rw, page.Body) //nolint:errcheck // the client may be gone; nothing to do
	}
	return true
}

// errorPage asks the default backend for the page of code (package
// errorpage). The response's body must be closed.
func (h *Handler) errorPage(st *reqState, code int) *http.Response {
	q := errorpage.Request{R: st.http.req, Host: st.http.host, Client: st.http.client, RequestID: st.reqID,
		Default: st.http.defBackend, Timeouts: &st.tr.def().Timeouts, Source: st.source()}
	if ep := st.errorPages(); ep != nil {
		q.Pool = ep.Pool
	}
	return h.errPages.Page(&q, code)
}

// source is the request's Ingress for the error-page headers: none for
// the unmatched requests' location.
func (st *reqState) source() routecfg.Source {
	if st.rt != nil && !st.http.unmatched {
		return st.rt.Source
	}
	return routecfg.Source{}
}
