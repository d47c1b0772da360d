package controllerconfig

import (
	"bufio"
	"net/netip"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
)

func documentedKeys(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/ingress-nginx-keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestEveryDocumentedKeyClassified: each key of ingress-nginx's ConfigMap
// documentation is supported or refused,
// never both, and the refused table names only documented keys.
func TestEveryDocumentedKeyClassified(t *testing.T) {
	doc := map[string]bool{}
	for _, k := range documentedKeys(t) {
		doc[k] = true
		_, sup := lookup(k)
		_, ref := lookupRefused(k)
		switch {
		case sup && ref:
			t.Errorf("%s is both supported and refused", k)
		case !sup && !ref:
			t.Errorf("%s is neither supported nor refused", k)
		}
	}
	for _, r := range refused {
		if !doc[r.Name] {
			t.Errorf("refused key %s is not in ingress-nginx's documentation", r.Name)
		}
		if r.Why == "" {
			t.Errorf("refused key %s gives no reason", r.Name)
		}
	}
	if !sort.SliceIsSorted(refused, func(i, j int) bool { return refused[i].Name < refused[j].Name }) {
		t.Fatal("refused must be sorted by name (lookupRefused uses binary search)")
	}
}

var cmRef = diag.ObjectRef{Kind: "ConfigMap", Namespace: "ingress", Name: "moat"}

func TestRefusedKeys(t *testing.T) {
	_, ds := Parse(map[string]string{"worker-processes": "4", "main-snippet": "", "use-geoip": "true", "http-snippet": "lua_shared_dict x 1m;",
		"strict-validate-path-type": "true"}, cmRef)
	got := map[string]diag.Diagnostic{}
	for _, d := range ds {
		got[strings.TrimPrefix(d.Field, "data.")] = d
	}
	for key, sev := range map[string]diag.Severity{"worker-processes": diag.Warning, "main-snippet": diag.Info, "use-geoip": diag.Info, "http-snippet": diag.Warning,
		"strict-validate-path-type": diag.Warning} {
		d, ok := got[key]
		if !ok || d.Reason != "ConfigMapKeyRefused" || d.Severity != sev || !strings.Contains(d.Message, key) || d.Object != cmRef {
			t.Errorf("%s: %+v, want ConfigMapKeyRefused %v naming it", key, d, sev)
		}
	}
	if !strings.Contains(got["http-snippet"].Message, "snippets") {
		t.Errorf("http-snippet reason: %s", got["http-snippet"].Message)
	}
	if !strings.Contains(got["strict-validate-path-type"].Message, "even at its default") {
		t.Errorf("a refused key where moat differs at the default: %s", got["strict-validate-path-type"].Message)
	}
	if len(ds) != 5 {
		t.Errorf("diagnostics: %v", ds)
	}
}

func TestNewKeysParse(t *testing.T) {
	c := Default()
	if c.IgnoreInvalidHeaders != true || c.EnableUnderscoresInHeaders || !c.GenerateRequestID || c.HTTP2MaxConcurrentStreams != 128 || c.ProxySetHeaders != "" || c.AllowBackendServerHeader {
		t.Fatalf("defaults: %+v", c)
	}
	c, ds := Parse(map[string]string{
		"proxy-set-headers":              "ingress/upstream-headers",
		"add-headers":                    "ingress/response-headers",
		"hide-headers":                   "X-Powered-By, Server-Timing",
		"allow-backend-server-header":    "true",
		"enable-underscores-in-headers":  "true",
		"ignore-invalid-headers":         "false",
		"proxy-add-original-uri-header":  "true",
		"generate-request-id":            "false",
		"enable-real-ip":                 "true",
		"denylist-source-range":          "10.0.0.0/8",
		"block-referers":                 "spam.example, ~*\\.bad\\.",
		"disable-access-log":             "true",
		"skip-access-log-urls":           "/healthz,~^/metrics",
		"http2-max-concurrent-streams":   "64",
		"client-header-buffer-size":      "2k",
		"http2-max-field-size":           "8k",
		"http2-max-header-size":          "",
		"http2-max-requests":             "1000",
		"server-name-hash-bucket-size":   "128",
		"proxy-headers-hash-max-size":    "1024",
		"proxy-headers-hash-bucket-size": "128",
		"variables-hash-max-size":        "4096",
		"enable-serial-reloads":          "true",
	}, cmRef)
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	if c.ProxySetHeaders != "ingress/upstream-headers" || c.AddHeaders != "ingress/response-headers" || len(c.HideHeaders) != 2 || c.HideHeaders[1] != "Server-Timing" {
		t.Errorf("headers: %+v", c)
	}
	if !c.AllowBackendServerHeader || !c.EnableUnderscoresInHeaders || c.IgnoreInvalidHeaders || !c.ProxyAddOriginalURIHeader || c.GenerateRequestID || !c.EnableRealIP || !c.DisableAccessLog {
		t.Errorf("booleans: %+v", c)
	}
	if len(c.DenylistSourceRange) != 1 || c.DenylistSourceRange[0] != netip.MustParsePrefix("10.0.0.0/8") || len(c.BlockReferers) != 2 || len(c.SkipAccessLogURLs) != 2 || c.HTTP2MaxConcurrentStreams != 64 {
		t.Errorf("lists: %+v", c)
	}
}

func TestNewKeysBadValues(t *testing.T) {
	for key, v := range map[string]string{
		"proxy-set-headers":            "just-a-name",
		"add-headers":                  "Bad_NS/x",
		"hide-headers":                 "X-Ok, bad header",
		"allow-backend-server-header":  "yes",
		"block-referers":               "~(",
		"skip-access-log-urls":         "~[",
		"denylist-source-range":        "10.0.0.0/33",
		"http2-max-concurrent-streams": "0",
		"client-header-buffer-size":    "lots",
		"http2-max-field-size":         "8x",
		"http2-max-requests":           "-1",
		"map-hash-bucket-size":         "0",
		"variables-hash-bucket-size":   "x",
		"proxy-cookie-path":            "/ /a/ /b/",
		"proxy-cookie-domain":          "$host a.example",
		"limit-rate":                   "-1",
	} {
		def := Default()
		c, ds := Parse(map[string]string{key: v}, cmRef)
		if len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" || ds[0].Field != "data."+key || !strings.Contains(ds[0].Message, key) {
			t.Errorf("%s=%q: %v", key, v, ds)
			continue
		}
		if c.ProxySetHeaders != def.ProxySetHeaders || c.AddHeaders != def.AddHeaders || len(c.HideHeaders) != 0 || c.HTTP2MaxConcurrentStreams != 128 || len(c.DenylistSourceRange) != 0 || c.ProxyCookiePath != nil || c.ProxyCookieDomain != nil || c.LimitRate != 0 {
			t.Errorf("%s=%q: the default was not kept: %+v", key, v, c)
		}
	}
}

func TestNoEffectKeysCounted(t *testing.T) {
	n := 0
	for _, k := range keys {
		if k.NoEffect() {
			n++
		}
	}
	if n == 0 || !strings.Contains(Markdown(), "of them accepted without effect") {
		t.Fatalf("no-effect rows: %d", n)
	}
}

// TestHeaderBuffers: large-client-header-buffers sets the head bounds,
// nginx's 4 8k by default; a bad value keeps them.
func TestHeaderBuffers(t *testing.T) {
	if d := Default(); d.HeaderBuffers != 4 || d.HeaderBufferSize != 8<<10 {
		t.Errorf("default %d × %d, want 4 × 8k", d.HeaderBuffers, d.HeaderBufferSize)
	}
	c, ds := Parse(map[string]string{"large-client-header-buffers": "8  16k"}, cmRef)
	if len(ds) != 0 || c.HeaderBuffers != 8 || c.HeaderBufferSize != 16<<10 {
		t.Errorf("8 16k: %d × %d, %v", c.HeaderBuffers, c.HeaderBufferSize, ds)
	}
	for _, v := range []string{"8k", "0 8k", "4 8x", "4 512", "4 2m", "4096 1m", "4 8k 1"} {
		c, ds := Parse(map[string]string{"large-client-header-buffers": v}, cmRef)
		if len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" || ds[0].Field != "data.large-client-header-buffers" {
			t.Errorf("%q: %v", v, ds)
		}
		if c.HeaderBuffers != 4 || c.HeaderBufferSize != 8<<10 {
			t.Errorf("%q: the default was not kept: %d × %d", v, c.HeaderBuffers, c.HeaderBufferSize)
		}
	}
}
