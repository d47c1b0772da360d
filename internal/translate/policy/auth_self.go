package policy

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/translate/core"
)

// checkAuthSelf reports an auth-url (or global-auth-url) that points at
// one of moat's own listeners: through a rule without a host, its
// sub-request is routed back to the same protected location, each one
// asking again. The data plane cuts such a loop at a bounded depth (508,
// hence 500 to the client); this says why at config time. The admin
// listener serves no auth endpoint at all.
func (t *Extractor) checkAuthSelf(r *annotations.Reader, raw string, global bool) {
	which, ok := listeners(t.Opts.Listeners).match(raw)
	if !ok {
		return
	}
	sev, msg := diag.Warning, fmt.Sprintf("auth-url %q points at moat's own %s listener: its sub-request is routed by moat again, and loops when it reaches a location with this auth-url (moat stops it after %d hops with 508, the client gets 500)", raw, which, MaxAuthDepth)
	if which == "admin" {
		sev, msg = diag.Error, fmt.Sprintf("auth-url %q points at moat's admin listener, which serves moat's health, metrics and debug endpoints, not an authentication service", raw)
	}
	if global {
		t.Add(diag.Diagnostic{Object: diag.ObjectRef{Kind: "ConfigMap", Name: t.Opts.ConfigMap}, Severity: sev, Reason: "AuthURLSelf",
			Field: "data.global-auth-url", Message: msg})
		return
	}
	t.AnnDiag(r, "auth-url", sev, "AuthURLSelf", msg)
}

// MaxAuthDepth is how many auth sub-requests may pass through moat one
// inside another before the next is refused (the data plane's bound,
// proxy.maxAuthDepth, stated here for the diagnostic).
const MaxAuthDepth = 3

// listeners has match; core.Listeners is the plain options value.
type listeners core.Listeners

// match reports which listener the URL's host:port reaches: the same
// port, and the same host, or a loopback, unspecified or "localhost" host
// when moat listens on every address or on loopback.
func (l listeners) match(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || strings.ContainsAny(u.Host, "$") {
		return "", false // variables: not known before the request
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		default:
			return "", false
		}
	}
	host := strings.ToLower(u.Hostname())
	for _, c := range []struct{ name, addr string }{{"admin", l.Admin}, {"HTTP", l.HTTP}, {"HTTPS", l.HTTPS}} {
		lh, lp, err := net.SplitHostPort(c.addr)
		if err != nil || lp != port {
			continue
		}
		if sameListenHost(strings.ToLower(lh), host) {
			return c.name, true
		}
	}
	return "", false
}

// sameListenHost reports whether a request to host reaches a listener
// bound to lh.
func sameListenHost(lh, host string) bool {
	if lh == host {
		return true
	}
	local := host == "localhost" || host == "0.0.0.0" || host == "::"
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		local = true
	}
	if !local {
		return false
	}
	if lh == "" || lh == "localhost" {
		return true
	}
	ip := net.ParseIP(lh)
	return ip != nil && (ip.IsUnspecified() || ip.IsLoopback())
}
