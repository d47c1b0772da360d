package proxy

import (
	"net/http"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/rewrite"
	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// checkClientAuth enforces the host's client-certificate policy on an HTTPS
// request, as nginx does before any location runs; it returns true when it
// answered the request.
func (h *Handler) checkClientAuth(st *reqState, r *http.Request, table *router.Table, vh *routecfg.VirtualHost) bool {
	sni := r.TLS.ServerName
	if sni != "" && !rewrite.SameHost(r.Host, sni) {
		// A connection whose client certificate was requested (or not)
		// for the SNI's host must not serve another host with other
		// rules: 421, as nginx answers when the negotiated host verifies
		// clients ("client attempted to request the server name different
		// from the one that was negotiated"). moat also answers 421 where
		// nginx would say 400 (the SNI's host does not verify, the Host's
		// does), so that HTTP/2 clients that coalesced the connection
		// retry on a new one with the right SNI.
		sv, _ := table.Lookup(sni, "/")
		if sv != vh && ((sv != nil && sv.ClientAuth != nil) || (vh != nil && vh.ClientAuth != nil)) {
			h.local(st, http.StatusMisdirectedRequest)
			return true
		}
	}
	if vh == nil || vh.ClientAuth == nil {
		return false
	}
	ca := vh.ClientAuth
	if ca.Error != "" {
		// The CA could not be loaded: refuse rather than serve unchecked
		// (ingress-nginx's AuthTLSError).
		h.local(st, http.StatusForbidden)
		return true
	}
	res := st.connTLS().Client(ca, r.TLS.PeerCertificates, h.now())
	if !res.OK {
		if ca.ErrorPage != "" {
			// error_page 495 496 = URL: nginx redirects with 302.
			h.redirect(st, http.StatusFound, ca.ErrorPage)
		} else {
			// nginx's 495/496 reach the client as 400 Bad Request.
			h.local(st, http.StatusBadRequest)
		}
		return true
	}
	if ca.MatchCN != nil && !ca.MatchCN.MatchString(res.SubjectDN) {
		h.local(st, http.StatusForbidden)
		return true
	}
	st.client = res
	return false
}
