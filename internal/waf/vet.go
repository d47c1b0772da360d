package waf

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// directive is one logical SecLang line as Coraza's parser sees it:
// physical lines trimmed, comments and blank lines skipped, a trailing
// backslash joining the next line, a line ending in a backtick opening a
// block closed by a line starting with one (parser.go's parseString).
type directive struct {
	name string // lower case
	orig string // as written
	args string // the rest of the line
	text string // the physical lines, for moving the directive as written
}

// split returns src's directives; an unclosed backtick block is an error,
// as in Coraza.
func split(src string) ([]directive, error) {
	var out []directive
	var logical, raw strings.Builder
	inBackticks := false
	for _, phys := range strings.Split(src, "\n") {
		line := strings.TrimSpace(phys)
		if line == "" || line[0] == '#' {
			continue
		}
		raw.WriteString(phys)
		raw.WriteByte('\n')
		n := len(line)
		if !inBackticks && line[n-1] == '`' {
			inBackticks = true
		} else if inBackticks && line[0] == '`' {
			inBackticks = false
		}
		if inBackticks {
			logical.WriteString(line)
			logical.WriteByte('\n')
			continue
		}
		if line[n-1] == '\\' {
			logical.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		logical.WriteString(line)
		l := logical.String()
		name, args, _ := strings.Cut(l, " ")
		out = append(out, directive{name: strings.ToLower(name), orig: name, args: strings.TrimSpace(args), text: raw.String()})
		logical.Reset()
		raw.Reset()
	}
	if inBackticks {
		return nil, fmt.Errorf("a backtick block is left open")
	}
	if logical.Len() > 0 {
		// A last line ending in a backslash: Coraza drops it silently;
		// moat says so, since a rule cut short is not what was meant.
		return nil, fmt.Errorf("the last directive ends with a backslash and is never completed: %q", clip(logical.String()))
	}
	return out, nil
}

// deferred are the directives that change rules already loaded. ModSecurity
// (libmodsecurity) keeps them as exceptions applied at run time, so they
// act on rules loaded after them too, which is how ingress-nginx users
// write them (the snippet comes before the Core Rule Set). Coraza applies
// them when parsed, to the rules loaded so far: moat moves them after
// every rule of the set, which gives ModSecurity's result.
var deferred = map[string]bool{
	"secruleremovebyid":        true,
	"secruleremovebytag":       true,
	"secruleremovebymsg":       true,
	"secruleupdatetargetbyid":  true,
	"secruleupdatetargetbytag": true,
	"secruleupdateactionbyid":  true,
}

// refusedDirectives reach files, programs or the network; moat reads and
// writes no files for the WAF and never calls out.
var refusedDirectives = map[string]string{
	"secremoterules":                 "it downloads rules over the network",
	"secremoterulesfailaction":       "it belongs to SecRemoteRules, which moat refuses",
	"secauditlogstoragedir":          "it writes audit records into files (SecAuditLogType Concurrent)",
	"secauditlogdirmode":             "it sets the mode of audit log files",
	"secauditlogfilemode":            "it sets the mode of audit log files",
	"secuploaddir":                   "it keeps uploaded files on disk",
	"secuploadkeepfiles":             "it keeps uploaded files on disk",
	"secuploadfilemode":              "it sets the mode of uploaded files kept on disk",
	"secdatadir":                     "it keeps persistent collections in files",
	"sectmpdir":                      "it names a directory for temporary files",
	"secgsblookupdb":                 "it reads a database file",
	"sechttpblkey":                   "it is for @rbl lookups over DNS, which moat refuses",
	"secgeolookupdb":                 "it reads a database file",
	"secunicodemapfile":              "it reads a file",
	"secrulescript":                  "it runs a script",
	"secunicodemap":                  "it reads a file",
	"secignorerulecompilationerrors": "it would serve rules that failed to compile",
}

// refusedInLine are operators and actions that run programs, resolve
// names over DNS or change moat's environment. They are looked for in the
// whole directive, case-insensitively, wherever they appear: a pattern
// that merely mentions one is refused too, which errs on the safe side.
var refusedInLine = []struct{ token, why string }{
	{"@inspectfile", "the @inspectFile operator runs a program"},
	{"@rbl", "the @rbl operator queries DNS block lists over the network"},
	{"exec:", "the exec action runs a program"},
	{"setenv:", "the setenv action changes moat's own environment variables"},
}

// fromFileOps read a data file: accepted when it is one of the embedded
// Core Rule Set's (moat's rule file system holds nothing else).
var fromFileOps = []string{"@pmfromfile", "@pmf ", "@ipmatchfromfile", "@ipmatchf "}

// Refusal is a directive moat will not run.
type Refusal struct {
	Directive string
	Why       string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("directive %s is refused: %s", r.Directive, r.Why)
}

// Vet checks user SecLang (a modsecurity-snippet) against what moat
// runs: every directive that reaches files, programs or the network is
// refused, with the directive named. It does not compile the rules;
// Coraza does that (Cache.Compile) and reports syntax errors.
func Vet(src string) error {
	dirs, err := split(src)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := vetOne(d); err != nil {
			return err
		}
	}
	return nil
}

func vetOne(d directive) error {
	shown := clip(strings.TrimSpace(d.orig + " " + d.args))
	if why, ok := refusedDirectives[d.name]; ok {
		return &Refusal{shown, why}
	}
	arg := strings.Trim(strings.TrimSpace(d.args), `"`)
	switch d.name {
	case "include":
		if !Embedded(arg) {
			return &Refusal{shown, "moat reads no rule files; only the embedded Core Rule Set can be included (@owasp_crs/..., @crs-setup.conf.example, or ingress-nginx's paths /etc/nginx/owasp-modsecurity-crs/... and /etc/nginx/modsecurity/modsecurity.conf); use enable-owasp-core-rules, or put the rules in the snippet"}
		}
	case "secauditlog", "secdebuglog":
		if arg != "/dev/stdout" && arg != "/dev/stderr" {
			return &Refusal{shown, "moat writes no log files; use /dev/stdout or /dev/stderr"}
		}
	case "secauditlogtype":
		if !strings.EqualFold(arg, "serial") {
			return &Refusal{shown, "only Serial (to /dev/stdout or /dev/stderr) is supported: Concurrent writes files, HTTPS and Syslog send records over the network"}
		}
	}
	low := asciiLower(d.args)
	for _, r := range refusedInLine {
		if strings.Contains(low, r.token) {
			return &Refusal{shown, r.why}
		}
	}
	for _, op := range fromFileOps {
		i := strings.Index(low, op)
		if i < 0 {
			continue
		}
		rest := strings.TrimSpace(d.args[i+len(strings.TrimSpace(op)):])
		file, _, _ := strings.Cut(rest, `"`)
		for _, f := range strings.Fields(file) {
			if !dataFile(f) {
				return &Refusal{shown, fmt.Sprintf("moat reads no data files; %q is not a file of the embedded Core Rule Set", f)}
			}
		}
	}
	return nil
}

// dataFile reports whether an operator's data file resolves in moat's
// rule file system, where Coraza will look for it.
func dataFile(name string) bool {
	for _, p := range []string{name, "@owasp_crs/" + name} {
		if _, err := fs.Stat(rootFS{}, p); err == nil {
			return true
		}
	}
	return false
}

// lastInt returns the value of the last directive name in dirs that has
// one integer argument.
func lastInt(dirs []directive, name string) (int64, bool) {
	var v int64
	found := false
	for _, d := range dirs {
		if d.name != name {
			continue
		}
		if n, err := strconv.ParseInt(strings.Trim(d.args, `"`), 10, 64); err == nil {
			v, found = n, true
		}
	}
	return v, found
}

// asciiLower lowers ASCII letters only, so offsets in the result are
// offsets in s (strings.ToLower may change the length of other runes).
// Coraza matches operator and action names case-insensitively in ASCII.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
