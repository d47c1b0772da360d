package controllerconfig

import (
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
)

// TestCompressionKeys: ingress-nginx's defaults, values applied, and a bad
// value (a malformed media type, a level out of range) reported naming the
// key, keeping the default.
func TestCompressionKeys(t *testing.T) {
	def := Default().Compression
	if def.Gzip || def.Brotli || def.GzipLevel != 1 || def.GzipMinLength != 256 || def.BrotliLevel != 4 || def.BrotliMinLength != 20 ||
		def.GzipDisable != nil || def.On() {
		t.Errorf("defaults: %+v", def)
	}
	for _, typ := range []string{"text/html", "application/json", "image/svg+xml", "text/x-component", "TEXT/CSS; charset=utf-8"} {
		if !def.GzipTypes.Match(typ) || !def.BrotliTypes.Match(typ) {
			t.Errorf("default types must include %q", typ)
		}
	}
	if def.GzipTypes.Match("application/xml+rss") || !def.BrotliTypes.Match("application/xml+rss") || def.GzipTypes.Match("image/png") || def.GzipTypes.Match("") {
		t.Errorf("default lists differ from ingress-nginx's: %v / %v", def.GzipTypes, def.BrotliTypes)
	}

	c, ds := Parse(map[string]string{"use-gzip": "true", "gzip-level": "6", "gzip-min-length": "0", "gzip-types": "application/wasm, text/plain",
		"gzip-disable": "msie6", "brotli-types": "*", "brotli-level": "11"}, diag.ObjectRef{Kind: "ConfigMap", Name: "m"})
	z := c.Compression
	if len(ds) != 0 || !z.Gzip || z.Brotli || z.GzipLevel != 6 || z.GzipMinLength != 0 || !z.GzipDisableMSIE6 || z.BrotliLevel != 11 || !z.BrotliTypes.All {
		t.Errorf("applied: %+v %v", z, ds)
	}
	if !z.GzipTypes.Match("application/wasm") || !z.GzipTypes.Match("text/html") || z.GzipTypes.Match("application/json") {
		t.Errorf("gzip-types replaces the list and keeps text/html: %v", z.GzipTypes)
	}

	bad := map[string]string{
		"use-gzip":          "on",
		"gzip-level":        "0",
		"brotli-level":      "12",
		"gzip-min-length":   "1k",
		"brotli-min-length": "-1",
		"gzip-types":        "text/* application/json",
		"brotli-types":      "application/json text",
		"gzip-disable":      "MSIE [4-6",
		"enable-brotli":     "yes",
	}
	c, ds = Parse(bad, diag.ObjectRef{Kind: "ConfigMap", Name: "m"})
	if len(ds) != len(bad) {
		t.Fatalf("got %d diagnostics for %d bad keys: %v", len(ds), len(bad), ds)
	}
	for _, d := range ds {
		key := strings.TrimPrefix(d.Field, "data.")
		if d.Reason != "ConfigMapInvalidValue" || !strings.Contains(d.Message, key) || !strings.Contains(d.Message, bad[key]) {
			t.Errorf("diagnostic must name key and value: %+v", d)
		}
	}
	if c.Compression.GzipLevel != 1 || c.Compression.On() || !c.Compression.GzipTypes.Match("application/json") || c.Compression.GzipDisable != nil {
		t.Errorf("defaults not kept: %+v", c.Compression)
	}

	// brotli alone: moat adds Vary where ingress-nginx does not; said.
	_, ds = Parse(map[string]string{"enable-brotli": "true"}, diag.ObjectRef{Kind: "ConfigMap", Name: "m"})
	if len(ds) != 1 || ds[0].Reason != "ConfigMapValueDiffers" || ds[0].Field != "data.enable-brotli" || ds[0].Severity != diag.Info {
		t.Errorf("brotli without gzip: %v", ds)
	}
	_, ds = Parse(map[string]string{"enable-brotli": "true", "use-gzip": "true", "gzip-types": "*"}, diag.ObjectRef{Kind: "ConfigMap", Name: "m"})
	if len(ds) != 1 || ds[0].Reason != "ConfigMapValueDiffers" || ds[0].Field != "data.gzip-types" || !strings.Contains(ds[0].Message, "gRPC") {
		t.Errorf("gzip-types *: %v", ds)
	}
}
