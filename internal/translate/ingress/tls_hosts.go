package ingress

import (
	"fmt"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/policy"
	networkingv1 "k8s.io/api/networking/v1"
)

// hostTLS applies the Ingress's host-level TLS annotations to a rule host:
// the oldest Ingress with auth-tls-secret sets the host's client
// authentication (ingress-nginx createServers); ssl-passthrough is on when
// any Ingress of the host sets it.
func (t *Builder) hostTLS(hb *hostBuilder, ing *networkingv1.Ingress, a *policy.TLS, field string) {
	if a == nil {
		return
	}
	ref := t.Ref(ing)
	if a.Auth != nil {
		switch {
		case hb.vh.Host == "":
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "AuthTLSWithoutHost", Field: field,
				Message: "auth-tls-* applies per host (client certificates are requested by SNI); this rule has no host, so it is served without client-certificate checks"})
		case hb.vh.ClientAuth == nil:
			hb.vh.ClientAuth = t.pol.ClientAuth(a)
			hb.clientAuthFrom = ing
		case hb.clientAuthFrom != ing:
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "AuthTLSConflict", Field: "metadata.annotations",
				Message: fmt.Sprintf("host %q already has client-certificate authentication from ingress %s/%s (older), which wins; this Ingress's auth-tls-* annotations are ignored for it",
					hb.vh.Host, hb.clientAuthFrom.Namespace, hb.clientAuthFrom.Name)})
		}
	}
	if a.Ciphers != nil && hb.vh.Host != "" {
		// Server-level in ingress-nginx: the oldest Ingress wins.
		switch {
		case hb.ciphersFrom == nil:
			hb.vh.TLSCipherSuites, hb.ciphersFrom = a.Ciphers, ing
		case hb.ciphersFrom != ing:
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "SSLCiphersConflict", Field: "metadata.annotations." + t.AnnKey("ssl-ciphers"),
				Message: fmt.Sprintf("host %q already has ssl-ciphers from ingress %s/%s (older), which wins; this one is ignored for it",
					hb.vh.Host, hb.ciphersFrom.Namespace, hb.ciphersFrom.Name)})
		}
	}
	if a.Passthrough && hb.vh.Host != "" {
		if !t.Opts.EnableSSLPassthrough {
			if !hb.passthroughWarned {
				hb.passthroughWarned = true
				t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "SSLPassthroughDisabled", Field: "metadata.annotations." + t.AnnKey("ssl-passthrough"),
					Message: fmt.Sprintf("ssl-passthrough is set but moat runs without --enable-ssl-passthrough: host %q is terminated by moat", hb.vh.Host),
					Hint:    "start moat with --enable-ssl-passthrough, as ingress-nginx requires too"})
			}
		} else if hb.passthroughFrom == nil {
			hb.passthroughFrom = ing
		}
	}
}

// finishHostTLS completes a host's TLS annotations once its routes are
// final.
func (t *Builder) finishHostTLS(hb *hostBuilder) {
	t.finishPassthrough(hb)
	t.plainHTTPWithClientAuth(hb)
}

// plainHTTPWithClientAuth warns when a host that verifies client
// certificates on HTTPS also serves some path over plain HTTP, where no
// certificate can be asked for (nginx behaves the same; the redirect to
// HTTPS is what closes the gap).
func (t *Builder) plainHTTPWithClientAuth(hb *hostBuilder) {
	vh := hb.vh
	if vh.ClientAuth == nil || vh.Passthrough != nil {
		return
	}
	for _, rt := range vh.Routes {
		if rt.ForceSSLRedirect || (vh.TLS && rt.SSLRedirect) || (rt.Pool == "" && rt.Status != 0) {
			continue
		}
		ing := hb.clientAuthFrom
		t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Warning, Reason: "AuthTLSPlainHTTP", Field: "metadata.annotations." + t.AnnKey("auth-tls-secret"),
			Message: fmt.Sprintf("host %q verifies client certificates on HTTPS, but path %q (ingress %s/%s) is also served over plain HTTP without them", vh.Host, rt.Path, rt.Source.Namespace, rt.Source.Ingress),
			Hint:    "list the host under spec.tls (ssl-redirect then sends plain HTTP to HTTPS) or set force-ssl-redirect: \"true\""})
		return
	}
}

// finishPassthrough points a passthrough host at the backend of its "/"
// path, as ingress-nginx does (only the root location's backend is used).
func (t *Builder) finishPassthrough(hb *hostBuilder) {
	ing := hb.passthroughFrom
	if ing == nil {
		return
	}
	var root *routecfg.Route
	for _, rt := range hb.vh.Routes {
		if rt.Path == "/" && rt.Match != routecfg.MatchExact {
			root = rt
			break
		}
	}
	if root == nil || root.Pool == "" {
		t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Warning, Reason: "SSLPassthroughNoBackend", Field: "spec.rules",
			Message: fmt.Sprintf("ssl-passthrough for host %q needs a path \"/\" with a Service backend; the host is terminated by moat", hb.vh.Host)})
		return
	}
	hb.vh.Passthrough = &routecfg.Passthrough{Pool: root.Pool, Source: root.Source}
	if hb.vh.ClientAuth != nil {
		t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Warning, Reason: "SSLPassthroughIgnoresAuthTLS", Field: "metadata.annotations",
			Message: fmt.Sprintf("host %q is passed through: moat never sees its TLS, so its auth-tls-* client-certificate checks do not apply", hb.vh.Host)})
	}
}
