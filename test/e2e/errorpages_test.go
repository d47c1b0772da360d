package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
)

// errorPage is what errorPageServer answers: the request it got, with
// the X-* headers ingress-nginx's error-page locations set.
type errorPage struct {
	Server  string            `json:"server"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Host    string            `json:"host"`
	BodyLen int               `json:"bodyLen"`
	Headers map[string]string `json:"headers"`
}

// errorPageServer is a default backend as ingress-nginx's
// custom-error-pages example: it answers with the status X-Code names
// (404 without one; ?as=NNN overrides) and a JSON body echoing the
// request and its X-* and Accept headers.
func errorPageServer(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p := errorPage{Server: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, BodyLen: len(body), Headers: map[string]string{}}
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-") || k == "Accept" {
				p.Headers[k] = strings.Join(v, ",")
			}
		}
		code := http.StatusNotFound
		if n, err := strconv.Atoi(r.Header.Get("X-Code")); err == nil {
			code = n
		}
		if n, err := strconv.Atoi(r.URL.Query().Get("as")); err == nil {
			code = n
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Error-Page", name)
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(p) //nolint:errcheck // the test reads it
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// reqFull is req keeping the body.
func reqFull(t *testing.T, c *http.Client, method, url string, hdr map[string]string) result {
	t.Helper()
	rq, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		rq.Header.Set(k, v)
	}
	resp, err := c.Do(rq)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}
}

// noEndpoints is a Service whose EndpointSlice lists no endpoint.
func noEndpoints(ns, name string) string {
	return strings.Replace(service(ns, name), "endpoints:\n[]\n", "endpoints: []\n", 1)
}

// page decodes an error page answer, failing the test when it is not one.
func (r result) page(t *testing.T) errorPage {
	t.Helper()
	var p errorPage
	if err := json.Unmarshal(r.body, &p); err != nil || p.Server == "" {
		t.Fatalf("not an error page (%d): %q", r.status, r.body)
	}
	return p
}

// wantHeaders compares an error page's X-* headers with want; "" means
// the header must be absent (nginx sends no header with an empty value).
func wantHeaders(t *testing.T, what string, p errorPage, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := p.Headers[k]
		switch {
		case v == "" && ok:
			t.Errorf("%s: %s = %q, want none", what, k, got)
		case v != "" && got != v:
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

// TestErrorPages: --default-backend-service and custom-http-errors end to
// end, with real default backends: unmatched hosts and paths, upstream
// answers replaced with ingress-nginx's headers and the error backend's
// status, an Ingress's own codes and default-backend, a code not listed,
// moat's own 502, the no-endpoints fallback, a default backend that is
// down, and its endpoints followed live.
func TestErrorPages(t *testing.T) {
	status := statusBackend(t)
	errs := errorPageServer(t, "errors")
	pages := errorPageServer(t, "pages")
	dead := closedAddr(t)
	dir := t.TempDir()
	writeFile(t, dir, "errors.yaml", service("ingress", "errors", errs))
	writeFile(t, dir, "all.yaml", join(
		controllerConfigMap(map[string]string{"custom-http-errors": "404,502,503"}),
		service("default", "status", status),
		service("default", "pages", pages),
		service("default", "dead", dead),
		service("default", "deadpages", dead),
		noEndpoints("default", "noeps"),
		ingress("default", "app", "app.example", "", "/", "status"),
		ingress("default", "partial", "partial.example", "", "/only", "status"),
		ingress("default", "down", "down.example", "", "/", "dead"),
		annIngress("own", "own.example", "status", map[string]string{"custom-http-errors": "500", "default-backend": "pages"}),
		annIngress("owndown", "owndown.example", "status", map[string]string{"custom-http-errors": "500", "default-backend": "deadpages"}),
		annIngress("fallback", "fallback.example", "noeps", map[string]string{"default-backend": "pages"}),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) {
		c.ConfigMap = "ingress/moat-config"
		c.DefaultBackendService = "ingress/errors"
	})
	c := m.client(nil, false)

	t.Run("unmatched host", func(t *testing.T) {
		// Proxied to the default backend as is; its 404 is listed, so
		// the error page follows with X-Code 404 and no Ingress headers.
		r := reqFull(t, c, "GET", "http://nohost.example/some/path?x=1", map[string]string{"Accept": "application/json", "X-Request-ID": "rid-unmatched"})
		p := r.page(t)
		if r.status != 404 || p.Server != "errors" || p.Method != "GET" || p.Path != "/" || p.Query != "x=1" || p.Host != "nohost.example" {
			t.Errorf("got %d %+v", r.status, p)
		}
		wantHeaders(t, "unmatched host", p, map[string]string{"X-Code": "404", "X-Format": "application/json", "X-Original-Uri": "/some/path?x=1",
			"X-Request-Id": "rid-unmatched", "X-Forwarded-For": "127.0.0.1", "X-Namespace": "", "X-Ingress-Name": "", "X-Service-Name": "", "X-Service-Port": ""})
	})
	t.Run("unmatched path", func(t *testing.T) {
		r := get(t, c, "http://partial.example/other")
		if p := r.page(t); r.status != 404 || p.Server != "errors" || p.Headers["X-Code"] != "404" || p.Headers["X-Original-Uri"] != "/other" {
			t.Errorf("got %d %+v", r.status, p)
		}
		if r := get(t, c, "http://partial.example/only"); r.status != 200 || string(r.body) != "upstream 200" {
			t.Errorf("matched path: %d %q", r.status, r.body)
		}
	})
	t.Run("upstream 503", func(t *testing.T) {
		r := reqFull(t, c, "GET", "http://app.example/status/503?q=1", map[string]string{"Accept": "text/html", "X-Request-ID": "rid-503"})
		p := r.page(t)
		if r.status != 503 || p.Server != "errors" || p.Path != "/" || p.Query != "q=1" || r.header.Get("X-Custom") != "" || r.header.Get("X-Error-Page") != "errors" {
			t.Errorf("got %d %v %+v", r.status, r.header, p)
		}
		wantHeaders(t, "upstream 503", p, map[string]string{"X-Code": "503", "X-Format": "text/html", "X-Original-Uri": "/status/503?q=1",
			"X-Namespace": "default", "X-Ingress-Name": "app", "X-Service-Name": "status", "X-Service-Port": "80", "X-Request-Id": "rid-503"})
		// The client gets the error backend's status, as nginx's
		// error_page without =code does.
		if r := get(t, c, "http://app.example/status/503?as=200"); r.status != 200 || r.page(t).Headers["X-Code"] != "503" {
			t.Errorf("error backend's status: %d %q", r.status, r.body)
		}
		// The method is kept (a named location), the body is not sent.
		r = reqFull(t, c, "POST", "http://app.example/status/503", nil)
		if p := r.page(t); p.Method != "POST" || p.BodyLen != 0 {
			t.Errorf("POST: %+v", p)
		}
		// Without Accept there is no X-Format.
		rq, _ := http.NewRequest("GET", "http://app.example/status/503", nil)
		res, err := c.Transport.RoundTrip(rq)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if p := (result{status: res.StatusCode, body: body}).page(t); p.Headers["X-Format"] != "" {
			t.Errorf("X-Format without Accept: %q", p.Headers["X-Format"])
		}
	})
	t.Run("not listed", func(t *testing.T) {
		r := get(t, c, "http://app.example/status/500")
		if r.status != 500 || string(r.body) != "upstream 500" || r.header.Get("X-Custom") != "from-upstream" {
			t.Errorf("got %d %q %v", r.status, r.body, r.header)
		}
	})
	t.Run("annotation overrides ConfigMap", func(t *testing.T) {
		r := get(t, c, "http://own.example/status/500")
		if p := r.page(t); r.status != 500 || p.Server != "pages" || p.Headers["X-Code"] != "500" || p.Headers["X-Ingress-Name"] != "own" {
			t.Errorf("own code: %d %+v", r.status, p)
		}
		// The Ingress's list replaces the ConfigMap's: 503 passes.
		if r := get(t, c, "http://own.example/status/503"); r.status != 503 || string(r.body) != "upstream 503" {
			t.Errorf("ConfigMap code on an Ingress with its own: %d %q", r.status, r.body)
		}
	})
	t.Run("moat's own 502", func(t *testing.T) {
		r := get(t, c, "http://down.example/x")
		if p := r.page(t); r.status != 502 || p.Server != "errors" || p.Headers["X-Code"] != "502" || p.Headers["X-Service-Name"] != "dead" {
			t.Errorf("got %d %+v", r.status, p)
		}
	})
	t.Run("no endpoints", func(t *testing.T) {
		// The default-backend annotation serves the path itself, with
		// X-Code 503 and the Ingress's names (no X-Original-URI).
		r := get(t, c, "http://fallback.example/a/b?as=200")
		p := r.page(t)
		if r.status != 200 || p.Server != "pages" || p.Path != "/a/b" || p.Query != "as=200" {
			t.Errorf("got %d %+v", r.status, p)
		}
		wantHeaders(t, "no endpoints", p, map[string]string{"X-Code": "503", "X-Namespace": "default", "X-Ingress-Name": "fallback", "X-Service-Name": "noeps",
			"X-Service-Port": "80", "X-Original-Uri": ""})
		// Its 503 is an upstream answer the ConfigMap lists: replaced by
		// --default-backend-service's page, as nginx's inherited
		// error_page does.
		r = get(t, c, "http://fallback.example/a/b")
		if p := r.page(t); r.status != 503 || p.Server != "errors" || p.Headers["X-Original-Uri"] != "/a/b" {
			t.Errorf("503 of the fallback: %d %+v", r.status, p)
		}
	})
	t.Run("error backend down", func(t *testing.T) {
		// The error page fails: moat's own 502, at once, not replaced
		// again (recursive_error_pages off).
		start := time.Now()
		r := get(t, c, "http://owndown.example/status/500")
		if r.status != 502 || string(r.body) != "502 Bad Gateway\n" {
			t.Errorf("got %d %q", r.status, r.body)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s", d)
		}
	})
	t.Run("endpoints followed live", func(t *testing.T) {
		other := errorPageServer(t, "errors2")
		writeFile(t, dir, "errors.yaml", service("ingress", "errors", other))
		eventually(t, 5*time.Second, "unmatched requests reach the new endpoint", func() bool {
			r, err := do(c, "http://nohost.example/")
			return err == nil && strings.Contains(string(r.body), `"server":"errors2"`)
		})
		writeFile(t, dir, "errors.yaml", noEndpoints("ingress", "errors"))
		eventually(t, 5*time.Second, "the built-in 404 without endpoints", func() bool {
			r, err := do(c, "http://nohost.example/")
			return err == nil && r.status == 404 && string(r.body) == "404 page not found\n"
		})
		// An upstream error listed falls back to the built-in 404 too.
		if r := get(t, c, "http://app.example/status/503"); r.status != 404 || string(r.body) != "404 page not found\n" {
			t.Errorf("error page without a default backend: %d %q", r.status, r.body)
		}
	})
}

// TestDefaultBackendServiceBroken: a --default-backend-service that is
// missing is reported and the built-in 404 answers; one whose endpoint
// refuses connections gets moat's 502 at once, not a hang.
func TestDefaultBackendServiceBroken(t *testing.T) {
	status := statusBackend(t)
	dir := t.TempDir()
	writeFile(t, dir, "all.yaml", join(
		service("default", "status", status),
		service("default", "dead", closedAddr(t)),
		ingress("default", "app", "app.example", "", "/", "status"),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.DefaultBackendService = "default/nope" })
	c := m.client(nil, false)
	if r := get(t, c, "http://nohost.example/"); r.status != 404 || string(r.body) != "404 page not found\n" {
		t.Errorf("missing default backend: %d %q", r.status, r.body)
	}
	if r := get(t, c, "http://app.example/"); r.status != 200 {
		t.Errorf("good route: %d", r.status)
	}
	if !strings.Contains(m.logs.String(), "DefaultBackendInvalid") || !strings.Contains(m.logs.String(), "default/nope") {
		t.Errorf("no diagnostic naming the Service:\n%s", m.logs.String())
	}

	m = startMoat(t, dir, func(c *app.ServeConfig) { c.DefaultBackendService = "default/dead" })
	c = m.client(nil, false)
	start := time.Now()
	if r := get(t, c, "http://nohost.example/"); r.status != 502 || string(r.body) != "502 Bad Gateway\n" {
		t.Errorf("default backend down: %d %q", r.status, r.body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}
