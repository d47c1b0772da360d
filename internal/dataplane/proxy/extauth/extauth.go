// Package extauth is the authentication of ingress-nginx's auth
// annotations: auth-type basic (BasicOK) and the external auth
// sub-request of auth-url (Check), with its answer cache
// (auth-cache-key), its keepalive pools (auth-keepalive) and the marker
// that bounds a sub-request looping back into moat (Hop). It answers
// nothing itself: the proxy acts on the Result.
package extauth

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/htpasswd"
	"github.com/moat-ingress/moat/internal/redact"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Auth runs external auth sub-requests; its cache and pools are kept
// across config swaps. Logger and Now are set by New.
type Auth struct {
	Logger *slog.Logger
	Now    func() time.Time
	client *http.Client
	// token marks moat's own auth sub-requests (Hop).
	token string
	cache authCache
	pools authClients
}

// New returns an Auth that logs failed sub-requests to logger.
func New(logger *slog.Logger, now func() time.Time) *Auth {
	return &Auth{Logger: logger, Now: now, client: newAuthClient(), token: newAuthToken()}
}

// Request is what a sub-request needs of the client's request.
type Request struct {
	R    *http.Request
	Vars *vars.Values
	// VHost and Route locate the answer in the cache.
	VHost *routecfg.VirtualHost
	Route *routecfg.Route
	// Depth is how deep in moat's own sub-requests R is (Hop).
	Depth int
	// Inject propagates the request's trace context; may be nil.
	Inject func(http.Header)
}

// Result is the verdict. OK lets the request on, with Headers for the
// upstream; otherwise Status is the answer (0: none, when quiet), a
// redirect to Redirect, or with Authenticate as WWW-Authenticate.
// Cookie is the auth answer's Set-Cookie, for the client's response.
type Result struct {
	OK           bool
	Status       int
	Redirect     string
	Authenticate []string
	Headers      http.Header
	Cookie       []string
}

// Check runs the auth sub-request of a (or takes its cached answer) for
// q and returns the verdict; quiet (satisfy any after a failed basic
// auth) asks for no answer to the client.
func (x *Auth) Check(a *routecfg.ExternalAuth, q *Request, quiet bool) Result {
	r := q.R
	var key [32]byte
	if a.CacheKey != nil {
		key = authCacheKey(q, a.CacheKey)
		if e, ok := x.cache.get(key, x.Now()); ok {
			return x.decision(q, a, e.status, e.header, quiet, nil)
		}
	}
	target := vars.Expand(nil, a.URL, r, q.Vars)
	method := a.Method
	if method == "" {
		method = r.Method
		if a.Keepalive != nil {
			// ingress-nginx's keepalive mode asks with a GET subrequest.
			method = http.MethodGet
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, string(target), nil)
	if err != nil {
		return Result{Status: http.StatusInternalServerError}
	}
	// The original headers, no body, and ingress-nginx's auth headers.
	for k, v := range r.Header {
		req.Header[k] = v
	}
	hdr := req.Header
	hdr.Del("Content-Length")
	hdr.Del("X-Forwarded-Proto")
	hdr.Del("Connection")
	scheme := "http"
	if q.Vars.HTTPS {
		scheme = "https"
	}
	if k := a.Keepalive; k != nil && !k.ShareVars {
		// The Lua subrequest has variables of its own, so ingress-nginx's
		// $req_id (the client's X-Request-ID, else $request_id) is
		// evaluated again: a new ID unless the client sent one.
		hdr.Set("X-Request-Id", vars.RequestID(r))
	} else {
		hdr.Set("X-Request-Id", q.Vars.RequestID)
	}
	hdr.Set("X-Original-Url", scheme+"://"+r.Host+r.RequestURI)
	hdr.Set("X-Original-Method", r.Method)
	hdr.Set("X-Sent-From", "nginx-ingress-controller")
	hdr[HopHeader] = []string{x.token + ":" + strconv.Itoa(q.Depth+1)}
	if q.Inject != nil {
		q.Inject(hdr) // the auth location propagates too (opentelemetry_propagate)
	}
	hdr.Set("X-Real-Ip", q.Vars.Client.String())
	hdr.Set("X-Forwarded-For", q.Vars.Client.String())
	if a.Method != "" {
		hdr.Set("X-Original-Uri", r.RequestURI)
		hdr.Set("X-Scheme", scheme)
	}
	if a.RequestRedirect.IsZero() {
		hdr.Set("X-Auth-Request-Redirect", r.RequestURI)
	} else {
		hdr.Set("X-Auth-Request-Redirect", string(vars.Expand(nil, a.RequestRedirect, r, q.Vars)))
	}
	for _, sh := range a.SetHeaders {
		hdr.Set(sh.Name, string(vars.Expand(nil, sh.Value, r, q.Vars)))
	}
	client := x.client
	var last net.Conn
	if k := a.Keepalive; k != nil {
		client = x.pools.get(k)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), traceUses(k, &last)))
	}
	res, err := client.Do(req)
	if err != nil {
		x.Logger.Warn("auth request failed", "url", redact.URLs(string(target)), "request_id", q.Vars.RequestID, "error", err)
		if quiet {
			return Result{}
		}
		return Result{Status: http.StatusInternalServerError}
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) //nolint:errcheck // drained for connection reuse
	res.Body.Close()
	if last != nil {
		last.Close() // auth-keepalive-requests reached
	}
	cookie := res.Header["Set-Cookie"]
	if a.Keepalive != nil && res.StatusCode != http.StatusOK {
		cookie = nil // the Lua keeps Set-Cookie of a 200 only
	}
	if a.CacheKey != nil {
		now := x.Now()
		if ttl := authCacheTTL(a.CacheRules, res.StatusCode, res.Header, now); ttl > 0 {
			x.cache.put(key, &authEntry{status: res.StatusCode, header: authKept(a, res.Header), expires: now.Add(ttl), lastUsed: now})
		}
	}
	return x.decision(q, a, res.StatusCode, res.Header, quiet, cookie)
}

// authKept is what a cached auth answer needs of its headers.
func authKept(a *routecfg.ExternalAuth, hdr http.Header) http.Header {
	out := make(http.Header, len(a.ResponseHeaders)+1)
	for _, name := range a.ResponseHeaders {
		if v := hdr.Values(name); len(v) > 0 {
			out[http.CanonicalHeaderKey(name)] = v
		}
	}
	if v := hdr["Www-Authenticate"]; len(v) > 0 {
		out["Www-Authenticate"] = v
	}
	return out
}

// decision is the verdict on the auth answer (fresh or cached).
func (x *Auth) decision(q *Request, a *routecfg.ExternalAuth, status int, hdr http.Header, quiet bool, cookie []string) Result {
	res := Result{Cookie: cookie}
	if a.Keepalive != nil {
		// ngx_conf_external_auth.lua: 200 passes, 401 and 403 are
		// returned as nginx's own (no WWW-Authenticate), anything else
		// is 500.
		switch {
		case status == http.StatusOK:
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			hdr = nil
		default:
			status = http.StatusInternalServerError
		}
	}
	switch {
	case status >= 200 && status < 300:
		if len(a.ResponseHeaders) > 0 {
			res.Headers = make(http.Header, len(a.ResponseHeaders))
			for _, name := range a.ResponseHeaders {
				res.Headers[http.CanonicalHeaderKey(name)] = hdr.Values(name)
			}
		}
		res.OK = true
	case quiet:
	case status == http.StatusUnauthorized && !a.Signin.IsZero():
		res.Status, res.Redirect = http.StatusFound, string(vars.Expand(nil, a.Signin, q.R, q.Vars))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		if v := hdr["Www-Authenticate"]; len(v) > 0 && status == http.StatusUnauthorized {
			res.Authenticate = v
		}
		res.Status = status
	default:
		res.Status = http.StatusInternalServerError
	}
	return res
}

// BasicOK is auth-type basic: the Authorization credentials against the
// htpasswd users.
func BasicOK(b *routecfg.BasicAuth, r *http.Request) bool {
	v := r.Header.Get("Authorization")
	enc, ok := strings.CutPrefix(v, "Basic ")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return false
	}
	user, pw, ok := strings.Cut(string(raw), ":")
	if !ok {
		return false
	}
	hash, ok := b.Users[user]
	return ok && htpasswd.Verify(hash, pw)
}
