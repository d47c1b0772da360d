package controllerconfig

import (
	"crypto/tls"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
)

func TestTableSorted(t *testing.T) {
	if !sort.SliceIsSorted(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name }) {
		t.Fatal("keys must be sorted by name (lookup uses binary search)")
	}
}

func TestDefaults(t *testing.T) {
	c := Default()
	if !c.SSLRedirect || c.ForceSSLRedirect || c.HTTPRedirectCode != 308 {
		t.Errorf("redirect defaults: %+v", c)
	}
	if got := c.HSTSValue(); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS = %q", got)
	}
	if c.ProxyBodySize != 1<<20 || c.ProxyConnectTimeout != 5*time.Second || c.ProxyReadTimeout != 60*time.Second || c.ProxySendTimeout != 60*time.Second {
		t.Errorf("proxy defaults: %d %v %v %v", c.ProxyBodySize, c.ProxyConnectTimeout, c.ProxyReadTimeout, c.ProxySendTimeout)
	}
	if c.UseForwardedHeaders || c.ForwardedForHeader != "X-Forwarded-For" || len(c.ProxyRealIPCIDR) != 1 || c.ProxyRealIPCIDR[0] != netip.MustParsePrefix("0.0.0.0/0") {
		t.Errorf("forwarded defaults: %+v", c)
	}
	if c.AllowSnippetAnnotations || c.AnnotationsRiskLevel != "High" || c.LimitReqStatusCode != 503 || c.ServerTokens || !c.UseHTTP2 {
		t.Errorf("policy defaults: %+v", c)
	}
	if c.TLSMinVersion != tls.VersionTLS12 || c.TLSMaxVersion != tls.VersionTLS13 || len(c.SSLCipherSuites) != 6 {
		t.Errorf("tls defaults: %x %x %v", c.TLSMinVersion, c.TLSMaxVersion, c.SSLCipherSuites)
	}
	if len(c.NoTLSRedirectLocations) != 1 || c.NoTLSRedirectLocations[0] != "/.well-known/acme-challenge" {
		t.Errorf("no-tls-redirect-locations: %v", c.NoTLSRedirectLocations)
	}
	if len(c.NoAuthLocations) != 1 || c.NoAuthLocations[0] != "/.well-known/acme-challenge" {
		t.Errorf("no-auth-locations: %v", c.NoAuthLocations)
	}
}

func TestParse(t *testing.T) {
	c, ds := Parse(map[string]string{
		"hsts-max-age":            "86400",
		"hsts-preload":            "true",
		"hsts-include-subdomains": "false",
		"proxy-body-size":         "8m",
		"http-redirect-code":      "301",
		"use-forwarded-headers":   "true",
		"proxy-real-ip-cidr":      "10.0.0.0/8, 192.168.1.1",
		"block-user-agents":       "curl/7.0, ~*bot",
		"custom-http-errors":      "404,503",
		"ssl-protocols":           "TLSv1.3",
		"global-auth-url":         "http://auth.example/check",
	}, diag.ObjectRef{Kind: "ConfigMap", Namespace: "ingress", Name: "moat"})
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	if c.HSTSValue() != "max-age=86400; preload" || c.ProxyBodySize != 8<<20 || c.HTTPRedirectCode != 301 || !c.UseForwardedHeaders {
		t.Errorf("parsed: %+v", c)
	}
	if len(c.ProxyRealIPCIDR) != 2 || c.ProxyRealIPCIDR[1] != netip.MustParsePrefix("192.168.1.1/32") {
		t.Errorf("proxy-real-ip-cidr: %v", c.ProxyRealIPCIDR)
	}
	if len(c.BlockUserAgents) != 2 || c.BlockUserAgents[1] != "~*bot" || len(c.CustomHTTPErrors) != 2 || c.TLSMinVersion != tls.VersionTLS13 {
		t.Errorf("lists: %+v", c)
	}
	if c.GlobalAuth.URL != "http://auth.example/check" {
		t.Errorf("global auth: %+v", c.GlobalAuth)
	}
}

// TestBadValues: every bad value is reported with key and value and the
// default stays; unknown keys get a did-you-mean.
func TestBadValues(t *testing.T) {
	bad := map[string]string{
		"ssl-redirect":                "yes",
		"http-redirect-code":          "303",
		"hsts-max-age":                "-1",
		"proxy-body-size":             "1x",
		"proxy-read-timeout":          "60s",
		"proxy-real-ip-cidr":          "10.0.0.0/33",
		"annotations-risk-level":      "Severe",
		"custom-http-errors":          "404,abc",
		"ssl-protocols":               "SSLv3",
		"ssl-ciphers":                 "DHE-RSA-AES128-GCM-SHA256",
		"limit-req-status-code":       "200",
		"no-tls-redirect-locations":   "well-known",
		"forwarded-for-header":        "X Bad",
		"hsts-prelaod":                "true",
		"load-balance":                "ip_hash",
		"proxy-next-upstream":         "error sometimes",
		"proxy-next-upstream-tries":   "-1",
		"proxy-next-upstream-timeout": "5s",
		"limit-conn-status-code":      "302",
		"proxy-buffering":             "true",
		"proxy-request-buffering":     "yes",
		"client-body-buffer-size":     "8q",
		"proxy-buffer-size":           "big",
		"retry-non-idempotent":        "on",
	}
	c, ds := Parse(bad, diag.ObjectRef{Kind: "ConfigMap", Name: "m"})
	if len(ds) != len(bad) {
		t.Fatalf("got %d diagnostics for %d bad keys: %v", len(ds), len(bad), ds)
	}
	for _, d := range ds {
		key := strings.TrimPrefix(d.Field, "data.")
		if d.Reason == "ConfigMapKeyUnknown" {
			if key != "hsts-prelaod" || d.Hint != "did you mean hsts-preload?" {
				t.Errorf("unknown key diagnostic: %+v", d)
			}
			continue
		}
		if d.Reason != "ConfigMapInvalidValue" || !strings.Contains(d.Message, key) || !strings.Contains(d.Message, bad[key]) {
			t.Errorf("diagnostic must name key and value: %+v", d)
		}
	}
	def := Default()
	if c.HTTPRedirectCode != 308 || c.ProxyBodySize != def.ProxyBodySize || c.AnnotationsRiskLevel != "High" || c.ProxyReadTimeout != 60*time.Second {
		t.Errorf("defaults not kept: %+v", c)
	}
	if c.LoadBalance != routecfg.RoundRobin || c.ProxyNextUpstream != routecfg.NextError|routecfg.NextTimeout || c.ProxyNextUpstreamTries != 3 ||
		c.LimitConnStatusCode != 503 || c.ProxyBuffering || !c.ProxyRequestBuffering || c.ClientBodyBufferSize != 8<<10 || c.ProxyBufferSize != 4<<10 {
		t.Errorf("traffic defaults not kept: %+v", c)
	}
}

// TestTrafficKeys: the traffic defaults that the annotations override.
func TestTrafficKeys(t *testing.T) {
	def := Default()
	if def.LoadBalance != routecfg.RoundRobin || def.ProxyNextUpstream != routecfg.NextError|routecfg.NextTimeout || def.ProxyNextUpstreamTries != 3 ||
		def.ProxyNextUpstreamTimeout != 0 || def.LimitConnStatusCode != 503 || def.ProxyBuffering || !def.ProxyRequestBuffering ||
		def.ClientBodyBufferSize != 8<<10 || def.ProxyBufferSize != 4<<10 || def.RetryNonIdempotent {
		t.Errorf("ingress-nginx defaults: %+v", def)
	}
	c, ds := Parse(map[string]string{
		"load-balance":                "ewma",
		"proxy-next-upstream":         "error http_502 non_idempotent",
		"proxy-next-upstream-tries":   "0",
		"proxy-next-upstream-timeout": "7",
		"limit-conn-status-code":      "429",
		"proxy-buffering":             "on",
		"proxy-request-buffering":     "off",
		"client-body-buffer-size":     "64k",
		"proxy-buffer-size":           "16k",
		"retry-non-idempotent":        "true",
		"proxy-buffers-number":        "8",
		"proxy-max-temp-file-size":    "0",
	}, diag.ObjectRef{Kind: "ConfigMap", Name: "m"})
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	if c.LoadBalance != routecfg.EWMA || c.ProxyNextUpstream != routecfg.NextError|routecfg.NextHTTP502|routecfg.NextNonIdempotent || c.ProxyNextUpstreamTries != 0 ||
		c.ProxyNextUpstreamTimeout != 7*time.Second || c.LimitConnStatusCode != 429 || !c.ProxyBuffering || c.ProxyRequestBuffering ||
		c.ClientBodyBufferSize != 64<<10 || c.ProxyBufferSize != 16<<10 || !c.RetryNonIdempotent || c.ProxyBuffersNumber != 8 || c.ProxyMaxTempFileSize != 0 {
		t.Errorf("parsed: %+v", c)
	}
	if def.ProxyBuffersNumber != 4 || def.ProxyMaxTempFileSize != 1<<30 {
		t.Errorf("buffer defaults: %+v", def)
	}
	c, ds = Parse(map[string]string{"proxy-buffer-size": "2m"}, diag.ObjectRef{Kind: "ConfigMap", Name: "m"})
	if len(ds) != 1 || ds[0].Reason != "ConfigMapValueCapped" || c.ProxyBufferSize != MaxResponseHeader {
		t.Errorf("proxy-buffer-size capped: %d %v", c.ProxyBufferSize, ds)
	}
	// Above what moat holds in memory: a warning, and the cap applies.
	c, ds = Parse(map[string]string{"client-body-buffer-size": "10m"}, diag.ObjectRef{Kind: "ConfigMap", Name: "m"})
	if len(ds) != 1 || ds[0].Severity != diag.Warning || ds[0].Reason != "ConfigMapValueCapped" || !strings.Contains(ds[0].Message, "10m") || c.ClientBodyBufferSize != MaxBodyBuffer {
		t.Errorf("capped: %d %v", c.ClientBodyBufferSize, ds)
	}
}

// TestDocsUpToDate fails when docs/configmap.md differs from the table.
func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/configmap.md")
	if err != nil || string(got) != Markdown() {
		t.Errorf("docs/configmap.md is stale: run go run ./internal/annotations/gen from the repository root")
	}
}

// TestLogFormat: log-format-upstream compiles with the escaping the
// escape keys choose; an unknown variable is an error naming the key, and
// the default format stays.
func TestLogFormat(t *testing.T) {
	obj := diag.ObjectRef{Kind: "ConfigMap", Namespace: "ingress-nginx", Name: "c"}
	c, ds := Parse(map[string]string{"log-format-upstream": `$remote_addr "$http_x_a"`, "log-format-escape-json": "true"}, obj)
	if len(ds) != 0 || c.LogFormat.Escape != logformat.EscapeJSON || len(c.LogFormat.Steps) != 4 {
		t.Errorf("format %+v, diagnostics %v", c.LogFormat, ds)
	}
	c, ds = Parse(map[string]string{"log-format-upstream": `$remote_addr $geoip_country`, "log-format-escape-none": "true", "log-format-escape-json": "true"}, obj)
	if len(ds) != 1 || ds[0].Field != "data.log-format-upstream" || ds[0].Reason != "ConfigMapInvalidValue" || !strings.Contains(ds[0].Message, "$geoip_country") {
		t.Fatalf("diagnostics %v", ds)
	}
	def, _ := logformat.Parse(logformat.Default, logformat.EscapeNone)
	if c.LogFormat.Escape != logformat.EscapeNone || len(c.LogFormat.Steps) != len(def.Steps) {
		t.Errorf("a bad format must leave the default, with escape=none: %+v", c.LogFormat)
	}
}

func TestClientLimitKeys(t *testing.T) {
	c := Default()
	if c.ClientHeaderTimeout != 60*time.Second || c.ClientBodyTimeout != 60*time.Second || c.KeepAlive != 75*time.Second ||
		c.KeepAliveRequests != 1000 || c.MaxWorkerConnections != 16384 {
		t.Errorf("client limit defaults: %v %v %v %d %d", c.ClientHeaderTimeout, c.ClientBodyTimeout, c.KeepAlive, c.KeepAliveRequests, c.MaxWorkerConnections)
	}
	c, ds := Parse(map[string]string{"client-header-timeout": "5", "client-body-timeout": "7", "keep-alive": "0",
		"keep-alive-requests": "10", "max-worker-connections": "0"}, diag.ObjectRef{Kind: "ConfigMap", Name: "c"})
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	// A set limit is applied, with advice: nginx counts it per worker.
	if c, ds := Parse(map[string]string{"max-worker-connections": "500"}, diag.ObjectRef{Kind: "ConfigMap", Name: "c"}); c.MaxWorkerConnections != 500 ||
		len(ds) != 1 || ds[0].Severity != diag.Info || ds[0].Reason != "ConfigMapValueDiffers" {
		t.Errorf("max-worker-connections 500: %d %v", c.MaxWorkerConnections, ds)
	}
	if c.ClientHeaderTimeout != 5*time.Second || c.ClientBodyTimeout != 7*time.Second || c.KeepAlive != 0 || c.KeepAliveRequests != 10 || c.MaxWorkerConnections != 0 {
		t.Errorf("parsed: %+v", c)
	}
	for k, v := range map[string]string{"client-header-timeout": "0", "client-body-timeout": "1m", "keep-alive": "-1", "keep-alive-requests": "x", "max-worker-connections": "-5"} {
		c, ds := Parse(map[string]string{k: v}, diag.ObjectRef{Kind: "ConfigMap", Name: "c"})
		if len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" || ds[0].Field != "data."+k {
			t.Errorf("%s: %q: diagnostics %v", k, v, ds)
		}
		if d := Default(); c.ClientHeaderTimeout != d.ClientHeaderTimeout || c.ClientBodyTimeout != d.ClientBodyTimeout || c.KeepAlive != d.KeepAlive ||
			c.KeepAliveRequests != d.KeepAliveRequests || c.MaxWorkerConnections != d.MaxWorkerConnections {
			t.Errorf("%s: %q: the default is not kept", k, v)
		}
	}
}

func TestWorkerShutdownTimeout(t *testing.T) {
	if got := Default().WorkerShutdownTimeout; got != 240*time.Second {
		t.Errorf("default worker-shutdown-timeout = %v, want ingress-nginx's 240s", got)
	}
	for v, want := range map[string]time.Duration{"10s": 10 * time.Second, "4m": 4 * time.Minute, "1500ms": 1500 * time.Millisecond, "30": 30 * time.Second, "0": 0} {
		c, ds := Parse(map[string]string{"worker-shutdown-timeout": v}, diag.ObjectRef{Kind: "ConfigMap", Namespace: "ns", Name: "cm"})
		if len(ds) != 0 || c.WorkerShutdownTimeout != want {
			t.Errorf("worker-shutdown-timeout %q: %v %v, want %v", v, c.WorkerShutdownTimeout, ds, want)
		}
	}
	for _, v := range []string{"soon", "-5s", "5 s"} {
		c, ds := Parse(map[string]string{"worker-shutdown-timeout": v}, diag.ObjectRef{Kind: "ConfigMap", Namespace: "ns", Name: "cm"})
		if len(ds) != 1 || c.WorkerShutdownTimeout != 240*time.Second {
			t.Errorf("worker-shutdown-timeout %q: %v %v, want one diagnostic and the default", v, c.WorkerShutdownTimeout, ds)
		}
	}
}

// TestErrorPageKeys: custom-http-errors and disable-proxy-intercept-errors;
// codes below 400 apply with advice (moat's own redirects stay).
func TestErrorPageKeys(t *testing.T) {
	ref := diag.ObjectRef{Kind: "ConfigMap", Name: "c"}
	c, ds := Parse(map[string]string{"custom-http-errors": "404, 503", "disable-proxy-intercept-errors": "true"}, ref)
	if len(ds) != 0 || !slices.Equal(c.CustomHTTPErrors, []int{404, 503}) || !c.DisableProxyInterceptErrors {
		t.Errorf("parsed %v %v: %v", c.CustomHTTPErrors, c.DisableProxyInterceptErrors, ds)
	}
	c, ds = Parse(map[string]string{"custom-http-errors": "302,404"}, ref)
	if !slices.Equal(c.CustomHTTPErrors, []int{302, 404}) || len(ds) != 1 || ds[0].Severity != diag.Info || ds[0].Reason != "ConfigMapValueDiffers" {
		t.Errorf("302: %v %v", c.CustomHTTPErrors, ds)
	}
	if c, ds := Parse(map[string]string{"disable-proxy-intercept-errors": "maybe"}, ref); c.DisableProxyInterceptErrors || len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" {
		t.Errorf("bad bool: %v %v", c.DisableProxyInterceptErrors, ds)
	}
}
