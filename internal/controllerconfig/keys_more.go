package controllerconfig

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// noEffect starts the doc of a key moat accepts and checks but that
// changes nothing, because what it tunes in nginx does not exist in moat
// and nothing a client or backend sees depends on it. The generator
// counts these rows apart (docs/configmap.md).
const noEffect = "No effect in moat: "

// NoEffect reports whether k is accepted without effect.
func (k Key) NoEffect() bool { return strings.HasPrefix(k.Doc, noEffect) }

// configMapRef checks a "namespace/name" ConfigMap reference; translate
// reads the ConfigMap.
func configMapRef(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			*f(c) = ""
			return nil
		}
		ns, name, ok := strings.Cut(v, "/")
		if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
			return fmt.Errorf("expected NAMESPACE/NAME of a ConfigMap")
		}
		*f(c) = v
		return nil
	}
}

// headerBuffers reads large-client-header-buffers ("4 8k").
func headerBuffers(c *Config, v string) error {
	f := strings.Fields(v)
	if len(f) != 2 {
		return fmt.Errorf("expected NUMBER SIZE, such as 4 8k")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 {
		return fmt.Errorf("expected a number of buffers, at least 1, before the size")
	}
	size, err := nginx.ParseSize(f[1])
	if err != nil {
		return err
	}
	// nginx needs a buffer to hold a request line; Go's server reads the
	// head in 4 KiB reads, so a smaller bound would refuse ordinary heads
	// no nginx refuses.
	if size < 1<<10 || size > 1<<20 || int64(n)*size > 4<<20 {
		return fmt.Errorf("expected a size from 1k to 1m, and at most 4m in all")
	}
	c.HeaderBuffers, c.HeaderBufferSize = n, int(size)
	return nil
}

func optionalSize(_ *Config, v string) error {
	if v == "" {
		return nil
	}
	_, err := nginx.ParseSize(v)
	return err
}

func nonNegative(_ *Config, v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 0 {
		return fmt.Errorf("expected a whole number")
	}
	return nil
}

func positive(_ *Config, v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		return fmt.Errorf("expected a whole number, at least 1")
	}
	return nil
}

// refusedDiag reports a refused key: info when it holds ingress-nginx's
// default and moat matches it there, else a warning.
func refusedDiag(obj diag.ObjectRef, name, v string, r Refused) diag.Diagnostic {
	d := diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "ConfigMapKeyRefused", Field: "data." + name,
		Message: fmt.Sprintf("controller setting %q is not applied by moat: %s", name, r.Why)}
	switch {
	case v == r.Default && !r.Differs:
		d.Severity = diag.Info
		d.Message += fmt.Sprintf("; %q is ingress-nginx's default, so nothing differs", v)
	case r.Differs:
		d.Message += "; moat differs from ingress-nginx here even at its default"
	}
	return d
}

func nonNegativeInt(f func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("expected a whole number")
		}
		*f(c) = n
		return nil
	}
}

// templateVarList names the request variables a global header value may
// use, for the docs.
func templateVarList() string {
	return "$" + strings.Join(vartemplate.Vars, ", $")
}
