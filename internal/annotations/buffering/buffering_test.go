package buffering

import (
	"strconv"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func reader(kv ...string) *annotations.Reader {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[annotations.DefaultPrefix+"/"+kv[i]] = kv[i+1]
	}
	return annotations.NewReader("", m, diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "b"})
}

func TestParse(t *testing.T) {
	def := routecfg.DefaultTraffic().Body
	if b := Parse(reader(), def); b != nil {
		t.Fatalf("no keys gave %+v", b)
	}
	b := Parse(reader("proxy-buffer-size", "16k", "proxy-buffers-number", "8", "proxy-max-temp-file-size", "0"), def)
	if b.ResponseHeaderMax != 16<<10 || b.BuffersNumber != 8 || b.ResponseBuffers != 128<<10 || b.MaxTempFile != 0 || b.MaxBytes != 1<<20 {
		t.Fatalf("buffer sizes: %+v", b)
	}
	// Memory read ahead is capped at 1m (the rest goes to the file).
	if b := Parse(reader("proxy-buffer-size", "512k"), def); b.ResponseHeaderMax != 512<<10 || b.ResponseBuffers != 1<<20 || b.MaxTempFile != 1<<30 {
		t.Fatalf("defaults under proxy-buffer-size: %+v", b)
	}
	r := reader("proxy-buffer-size", "2m")
	if b := Parse(r, def); b.ResponseHeaderMax != 1<<20 || len(r.Diags) != 1 || r.Diags[0].Reason != "ProxyBufferSizeCapped" {
		t.Fatalf("%+v %v", b, r.Diags)
	}
	b = Parse(reader("proxy-body-size", "8m"), def)
	if b.MaxBytes != 8<<20 || b.ResponseBuffering || !b.RequestBuffering || b.BufferBytes != 8<<10 {
		t.Fatalf("%+v", b)
	}
	b = Parse(reader("proxy-body-size", "0", "proxy-buffering", "on", "proxy-request-buffering", "off"), def)
	if b.MaxBytes != 0 || !b.ResponseBuffering || b.RequestBuffering {
		t.Fatalf("%+v", b)
	}
	if b := Parse(reader("client-body-buffer-size", "64k"), def); b.BufferBytes != 64<<10 || b.MaxBytes != 1<<20 {
		t.Fatalf("%+v", b)
	}
	r = reader("client-body-buffer-size", "10m")
	if b := Parse(r, def); b.BufferBytes != 1<<20 || len(r.Diags) != 1 || r.Diags[0].Reason != "BodyBufferCapped" {
		t.Fatalf("%+v %v", b, r.Diags)
	}
	// Without proxy-body-size the controller default stays.
	def.MaxBytes = 5 << 20
	if b := Parse(reader("proxy-buffering", "on"), def); b.MaxBytes != 5<<20 {
		t.Fatalf("%+v", b)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct{ key, value string }{
		{"proxy-body-size", "1.5m"},
		{"proxy-body-size", "-1"},
		{"proxy-body-size", "1 mb"},
		{"proxy-buffering", "yes"},
		{"proxy-request-buffering", "true"},
		{"client-body-buffer-size", "big"},
		{"proxy-buffer-size", "4kb"},
		{"proxy-buffers-number", "0"},
		{"proxy-max-temp-file-size", "1t"},
		{"proxy-buffer-size", "0"},
	}
	for _, tc := range cases {
		r := reader(tc.key, tc.value)
		b := Parse(r, routecfg.DefaultTraffic().Body)
		if len(r.Diags) != 1 || r.Diags[0].Reason != "AnnotationInvalidValue" ||
			!strings.HasSuffix(r.Diags[0].Field, "/"+tc.key) || !strings.Contains(r.Diags[0].Message, strconv.Quote(tc.value)) {
			t.Errorf("%s=%q: %v", tc.key, tc.value, r.Diags)
		}
		if b != nil && *b != routecfg.DefaultTraffic().Body {
			t.Errorf("%s=%q: a bad value changed the policy: %+v", tc.key, tc.value, b)
		}
	}
}
