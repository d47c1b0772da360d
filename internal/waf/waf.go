// Package waf is moat's web application firewall: ingress-nginx's
// ModSecurity keys (enable-modsecurity, enable-owasp-core-rules,
// modsecurity-snippet, modsecurity-transaction-id) on Coraza, the Go
// ModSecurity engine, with the OWASP Core Rule Set embedded as a Go
// module.
//
// SecLang is interpreted by Coraza only, never templated into anything.
// Snippets are vetted first (Vet): directives that reach files, programs
// or the network are refused. Coraza is given a file system holding only
// the embedded rules (rootfs.go), so nothing on disk is read whatever a
// rule names. Rule sets are compiled once per distinct text (Cache) when
// a configuration is translated, and the compiled WAF is shared by every
// route with that text.
package waf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"
)

// Global is the controller ConfigMap's part: enable-modsecurity,
// enable-owasp-modsecurity-crs and modsecurity-snippet.
type Global struct {
	Enabled bool
	CRS     bool
	Snippet string
}

// Location is an Ingress's part: the annotations enable-modsecurity (Set
// when present and valid), enable-owasp-core-rules, modsecurity-snippet.
type Location struct {
	Enable, EnableSet bool
	CRS               bool
	Snippet           string
}

const (
	baseInclude = "Include " + nginxBase + "\n"
	crsInclude  = "Include " + nginxCRS + "\n"
)

// Compose returns the rule set a location runs, as ingress-nginx's
// template and ModSecurity-nginx's merge build it, or "" when the WAF is
// off there:
//   - with enable-modsecurity in the ConfigMap, every location inherits
//     the http-level rules: the ConfigMap's modsecurity-snippet, or else
//     the default modsecurity.conf, then the Core Rule Set with
//     enable-owasp-modsecurity-crs;
//   - an Ingress's enable-modsecurity "false" turns it off; "true" turns it
//     on without the ConfigMap key;
//   - the location adds its modsecurity-snippet; the default
//     modsecurity.conf when the ConfigMap does not enable the WAF and the
//     Ingress has no snippet; the Core Rule Set with
//     enable-owasp-core-rules unless the ConfigMap already loads it.
//
// The parent's rules come first and the location's after, so a later
// SecRuleEngine wins, as in ModSecurity's merge. Directives that change
// loaded rules (SecRuleRemoveById, ...) are moved to the end (see
// deferred). The snippets must have passed Vet.
func Compose(g Global, l Location) (string, error) {
	if !g.Enabled && !l.Enable || l.EnableSet && !l.Enable {
		return "", nil
	}
	var parts []string
	if g.Enabled {
		if g.Snippet != "" {
			parts = append(parts, g.Snippet)
		} else {
			parts = append(parts, baseInclude)
		}
		if g.CRS {
			parts = append(parts, crsInclude)
		}
	}
	if l.Snippet != "" {
		parts = append(parts, l.Snippet)
	}
	if !g.Enabled && l.Snippet == "" {
		parts = append(parts, baseInclude)
	}
	if !g.CRS && l.CRS {
		parts = append(parts, crsInclude)
	}
	var main, tail strings.Builder
	for _, p := range parts {
		dirs, err := split(p)
		if err != nil {
			return "", err
		}
		for _, d := range dirs {
			if deferred[d.name] {
				tail.WriteString(d.text)
			} else {
				main.WriteString(d.text)
			}
		}
	}
	return main.String() + tail.String(), nil
}

// Engine is one compiled rule set.
type Engine struct {
	WAF coraza.WAF
	// Key is a short hash of the rule set's text, for logs and dumps.
	Key string
	// Mode is the SecRuleEngine the text sets last (On when none).
	Mode string
	// BodyLimit is SecRequestBodyLimit: how much of a request body the
	// rules see (and moat holds in memory for them).
	BodyLimit int64
}

// Cache compiles rule sets once per distinct text and forgets those not
// used between two sweeps (one per full translate), like the certificate
// cache. Safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	cur, old map[[32]byte]compiled
}

type compiled struct {
	e   *Engine
	err error
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{} }

// Sweep forgets the rule sets not used since the previous sweep. Their
// share of Coraza's process-wide cache of compiled patterns is released
// (Close); a configuration still serving them keeps working, since the
// rules hold what they compiled.
func (c *Cache) Sweep() {
	c.mu.Lock()
	for k, r := range c.old {
		if _, used := c.cur[k]; !used && r.e != nil {
			if cl, ok := r.e.WAF.(io.Closer); ok {
				_ = cl.Close()
			}
		}
	}
	c.old, c.cur = c.cur, nil
	c.mu.Unlock()
}

// Len is the number of rule sets held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.cur)
	for k := range c.old {
		if _, ok := c.cur[k]; !ok {
			n++
		}
	}
	return n
}

// Compile returns the engine for a composed rule set. The lock is held
// while compiling, so two translates never compile one set twice.
func (c *Cache) Compile(text string) (*Engine, error) {
	k := sha256.Sum256([]byte(text))
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.cur[k]
	if !ok {
		r, ok = c.old[k]
		if !ok {
			e, err := compile(text)
			if e != nil {
				e.Key = hex.EncodeToString(k[:4])
			}
			r = compiled{e, err}
		}
		if c.cur == nil {
			c.cur = map[[32]byte]compiled{}
		}
		c.cur[k] = r
	}
	return r.e, r.err
}

// defaultBodyLimit is Coraza's SecRequestBodyLimit when none is set.
const defaultBodyLimit = 134217728

func compile(text string) (*Engine, error) {
	dirs, err := split(text)
	if err != nil {
		return nil, err
	}
	all := allDirectives(dirs)
	limit, ok := lastInt(all, "secrequestbodylimit")
	if !ok || limit <= 0 || limit > 1<<30 {
		limit = defaultBodyLimit
	}
	cfg := coraza.NewWAFConfig().
		WithRootFS(rootFS{}).
		WithDirectives(text).
		// The body the rules see stays in memory, never in a temporary
		// file: moat holds it anyway to send it on.
		WithRequestBodyInMemoryLimit(int(limit))
	w, err := coraza.NewWAF(cfg)
	if err != nil {
		if strings.Contains(err.Error(), "filesystem access check") {
			return nil, fmt.Errorf("%v (Coraza needs a writable temporary directory, TMPDIR or /tmp, for multipart uploads: mount an emptyDir there)", err)
		}
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "invalid WAF config from string: "))
	}
	return &Engine{WAF: w, BodyLimit: limit, Mode: engineMode(all)}, nil
}

// allDirectives expands the Include of moat's default configuration, so
// its SecRequestBodyLimit and SecRuleEngine count where it is included.
func allDirectives(dirs []directive) []directive {
	var out []directive
	for _, d := range dirs {
		if d.name == "include" && strings.Trim(d.args, `"`) == nginxBase {
			b, _ := confFS.ReadFile("conf/modsecurity.conf")
			sub, _ := split(string(b))
			out = append(out, sub...)
			continue
		}
		out = append(out, d)
	}
	return out
}

func engineMode(dirs []directive) string {
	mode := "On"
	for _, d := range dirs {
		if d.name == "secruleengine" {
			switch strings.ToLower(strings.Trim(d.args, `"`)) {
			case "on":
				mode = "On"
			case "off":
				mode = "Off"
			case "detectiononly":
				mode = "DetectionOnly"
			}
		}
	}
	return mode
}

// Status is the answer to an interrupted transaction: the rule's status
// for deny (403 without one), 302 for a redirect without one, 403 for
// drop.
func Status(it *types.Interruption) int {
	switch {
	case it.Status != 0 && it.Action != "drop":
		return it.Status
	case it.Action == "redirect":
		return 302
	}
	return 403
}
