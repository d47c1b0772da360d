package waf

import (
	"embed"
	"io/fs"
	"path"
	"strings"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
)

//go:embed conf/*.conf
var confFS embed.FS

// Paths of ingress-nginx's image that snippets name in Include lines.
const (
	nginxBase = "/etc/nginx/modsecurity/modsecurity.conf"
	nginxCRS  = "/etc/nginx/owasp-modsecurity-crs/nginx-modsecurity.conf"
	nginxDir  = "/etc/nginx/owasp-modsecurity-crs/"
)

// rootFS is the only file system Coraza is given: moat's default
// configuration, the embedded Core Rule Set, and ingress-nginx's paths
// for both. Nothing on disk is reachable through it, whatever a rule
// names (Include, @pmFromFile, @ipMatchFromFile, @validateSchema).
type rootFS struct{}

// resolve maps a name to (file system, name in it), or ok false.
func resolve(name string) (fs.FS, string, bool) {
	switch name {
	case nginxBase:
		return confFS, "conf/modsecurity.conf", true
	case nginxCRS:
		return confFS, "conf/nginx-modsecurity.conf", true
	case nginxDir + "crs-setup.conf":
		return coreruleset.FS, "@crs-setup.conf.example", true
	}
	if rest, ok := strings.CutPrefix(name, nginxDir+"rules/"); ok && !strings.Contains(rest, "/") {
		return coreruleset.FS, "@owasp_crs/" + rest, true
	}
	// Coraza joins relative names to the including file's directory
	// ("/etc/nginx/owasp-modsecurity-crs/@owasp_crs/x.conf"); the
	// embedded set's names start at their '@', as coreruleset.FS reads.
	if i := strings.IndexByte(name, '@'); i >= 0 {
		n := path.Clean(name[i:])
		if !fs.ValidPath(n) {
			return nil, "", false
		}
		return coreruleset.FS, n, true
	}
	return nil, "", false
}

func (rootFS) Open(name string) (fs.File, error) {
	f, n, ok := resolve(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f.Open(n)
}

func (rootFS) ReadFile(name string) ([]byte, error) {
	f, n, ok := resolve(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return fs.ReadFile(f, n)
}

func (rootFS) Glob(pattern string) ([]string, error) {
	f, n, ok := resolve(pattern)
	if !ok || f != coreruleset.FS {
		return nil, nil
	}
	return fs.Glob(f, n)
}

// Embedded reports whether an Include names a file (or a pattern matching
// files) moat holds.
func Embedded(name string) bool {
	if strings.Contains(name, "*") {
		m, _ := rootFS{}.Glob(name)
		return len(m) > 0
	}
	_, err := fs.Stat(rootFS{}, name)
	return err == nil
}
