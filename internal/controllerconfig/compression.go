package controllerconfig

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg/compression"
)

// ingress-nginx's gzip-types and brotli-types defaults
// (internal/ingress/controller/config/config.go); text/html is always
// compressed on top of them.
const (
	defaultGzipTypes   = "application/atom+xml application/javascript application/x-javascript application/json application/rss+xml application/vnd.ms-fontobject application/x-font-ttf application/x-web-app-manifest+json application/xhtml+xml application/xml font/opentype image/svg+xml image/x-icon text/css text/javascript text/plain text/x-component"
	defaultBrotliTypes = "application/xml+rss " + defaultGzipTypes
)

// intRange sets an integer from lo to hi (gzip-level, brotli-level).
func intRange(lo, hi int, f func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("expected a number from %d to %d", lo, hi)
		}
		*f(c) = n
		return nil
	}
}

// byteCount sets a whole number of bytes (gzip-min-length,
// brotli-min-length: ints in ingress-nginx's ConfigMap).
func byteCount(f func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("expected a whole number of bytes")
		}
		*f(c) = n
		return nil
	}
}

func mimeTypes(f func(*Config) *compression.Types) func(*Config, string) error {
	return func(c *Config, v string) error {
		m, err := compression.ParseTypes(v)
		if err != nil {
			return err
		}
		*f(c) = m
		return nil
	}
}

// gzipDisable is nginx's gzip_disable with ingress-nginx's one quoted
// argument: "msie6" is nginx's special value, anything else a
// case-insensitive regular expression on the User-Agent (RE2 syntax,
// which covers the PCRE used in practice).
func gzipDisable(c *Config, v string) error {
	c.Compression.GzipDisable, c.Compression.GzipDisableMSIE6 = nil, false
	switch v {
	case "":
		return nil
	case "msie6":
		c.Compression.GzipDisableMSIE6 = true
		return nil
	}
	re, err := regexp.Compile("(?i)" + v)
	if err != nil {
		return fmt.Errorf("%q is not a valid regular expression: %v", v, err)
	}
	c.Compression.GzipDisable = re
	return nil
}

// compressionNotes says where moat's compression differs from
// ingress-nginx's for this ConfigMap: ingress-nginx sets gzip_vary only
// with use-gzip, so brotli alone sends no Vary: Accept-Encoding; moat
// always sends it (a cache would otherwise serve br to clients without it).
// A types list of "*" would compress gRPC in nginx, breaking it; moat
// leaves application/grpc alone.
func compressionNotes(c *Config, obj diag.ObjectRef) []diag.Diagnostic {
	var out []diag.Diagnostic
	z := &c.Compression
	if z.Brotli && !z.Gzip {
		out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Info, Reason: "ConfigMapValueDiffers", Field: "data.enable-brotli",
			Message: "enable-brotli without use-gzip: ingress-nginx then sends no Vary: Accept-Encoding (gzip_vary is set only with use-gzip); moat sends it on every response it could compress"})
	}
	for _, k := range []struct {
		on  bool
		all bool
		key string
	}{{z.Gzip, z.GzipTypes.All, "gzip-types"}, {z.Brotli, z.BrotliTypes.All, "brotli-types"}} {
		if k.on && k.all {
			out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Info, Reason: "ConfigMapValueDiffers", Field: "data." + k.key,
				Message: k.key + " \"*\": moat compresses every type except gRPC (application/grpc*), which ingress-nginx would compress and break"})
		}
	}
	return out
}
