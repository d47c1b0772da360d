package waf

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestVet(t *testing.T) {
	ok := []string{
		"SecRuleEngine On",
		"SecRuleEngine On\nSecRequestBodyAccess On\nSecAuditEngine RelevantOnly\nSecAuditLogParts ABIJDEFHZ\nSecAuditLog /dev/stdout\nSecAuditLogType Serial\n" +
			`SecRule REQUEST_HEADERS:User-Agent "block-ua" "log,deny,id:107,status:403,msg:'UA blocked'"`,
		"Include /etc/nginx/owasp-modsecurity-crs/nginx-modsecurity.conf",
		"Include /etc/nginx/modsecurity/modsecurity.conf",
		"Include @owasp_crs/REQUEST-942-APPLICATION-ATTACK-SQLI.conf",
		"Include /etc/nginx/owasp-modsecurity-crs/rules/REQUEST-901-INITIALIZATION.conf",
		"SecRuleRemoveById 942100\n# Include /etc/passwd (a comment)",
		`SecRule REQUEST_HEADERS:User-Agent "@pmFromFile scanners-user-agents.data" "id:1,deny"`,
		"SecDebugLog /dev/stderr\nSecDebugLogLevel 3",
	}
	for _, s := range ok {
		if err := Vet(s); err != nil {
			t.Errorf("Vet(%q): %v", s, err)
		}
	}
	refused := map[string]string{
		"Include /etc/passwd": "include /etc/passwd",
		"Include /etc/nginx/owasp-modsecurity-crs/plugins/x.conf": "include",
		"Include *.conf": "include",
		"SecRemoteRules key https://example.com/rules.conf":           "secremoterules",
		"SecAuditLog /var/log/modsec_audit.log":                       "secauditlog",
		"SecAuditLogType Concurrent":                                  "secauditlogtype",
		"SecAuditLogStorageDir /var/log/audit/":                       "secauditlogstoragedir",
		"SecDebugLog /tmp/debug.log":                                  "secdebuglog",
		"SecUploadDir /tmp":                                           "secuploaddir",
		"SecDataDir /tmp/":                                            "secdatadir",
		`SecRule FILES_TMPNAMES "@inspectFile /bin/sh" "id:1,deny"`:   "@inspectFile",
		`SecRule ARGS "@rx x" "id:1,pass,exec:/bin/true"`:             "exec",
		`SecAction "id:1,pass,setenv:GODEBUG=x509sha1=1"`:             "setenv",
		`SecRule REMOTE_ADDR "@rbl sbl.spamhaus.org" "id:1,deny"`:     "@rbl",
		`SecRule REMOTE_ADDR "@ipMatchFromFile /etc/ips" "id:1,deny"`: "/etc/ips",
		`SecRule ARGS "@pmf /etc/shadow" "id:1,deny"`:                 "/etc/shadow",
		"SecRule ARGS \"@rx x\" \\\n  \"id:1,pass,\\\n  setenv:A=1\"": "setenv",
	}
	for s, want := range refused {
		err := Vet(s)
		var r *Refusal
		if !errors.As(err, &r) {
			t.Errorf("Vet(%q) = %v, want a refusal", s, err)
			continue
		}
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
			t.Errorf("Vet(%q) = %v, want it to name %q", s, err, want)
		}
	}
	if err := Vet("SecDataset x `\n a\n"); err == nil {
		t.Error("an open backtick block passed")
	}
}

func TestCompose(t *testing.T) {
	base, crs := strings.TrimSpace(baseInclude), strings.TrimSpace(crsInclude)
	cases := []struct {
		name string
		g    Global
		l    Location
		want []string // directives in order; nil: off
	}{
		{"off", Global{}, Location{}, nil},
		{"annotation on: default conf", Global{}, Location{Enable: true, EnableSet: true}, []string{base}},
		{"annotation on with CRS", Global{}, Location{Enable: true, EnableSet: true, CRS: true}, []string{base, crs}},
		{"annotation snippet replaces the default conf", Global{}, Location{Enable: true, EnableSet: true, Snippet: "SecRuleEngine On"}, []string{"SecRuleEngine On"}},
		{"CRS annotation without enable", Global{}, Location{CRS: true}, nil},
		{"global", Global{Enabled: true}, Location{}, []string{base}},
		{"global off by annotation", Global{Enabled: true, CRS: true}, Location{EnableSet: true}, nil},
		{"global snippet replaces the default conf", Global{Enabled: true, CRS: true, Snippet: "SecRuleEngine On"}, Location{}, []string{"SecRuleEngine On", crs}},
		{"global CRS is not loaded twice", Global{Enabled: true, CRS: true}, Location{CRS: true, Snippet: "SecRuleEngine On"}, []string{base, crs, "SecRuleEngine On"}},
		{"location CRS under global", Global{Enabled: true}, Location{CRS: true}, []string{base, crs}},
		{"removals move after the rules", Global{}, Location{Enable: true, EnableSet: true, CRS: true, Snippet: "SecRuleRemoveById 942100\nSecRuleEngine On"},
			[]string{"SecRuleEngine On", crs, "SecRuleRemoveById 942100"}},
	}
	for _, c := range cases {
		got, err := Compose(c.g, c.l)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
			if l != "" {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		if strings.Join(lines, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q, want %q", c.name, lines, c.want)
		}
	}
}

// TestNoDisk: whatever a rule set names, Coraza reads only moat's
// embedded files, even for text that never went through Vet.
func TestNoDisk(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "rules.conf")
	if err := os.WriteFile(f, []byte(`SecRule ARGS "@rx x" "id:5,deny"`), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "words.data")
	if err := os.WriteFile(data, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"Include " + f, `SecRule ARGS "@pmFromFile ` + data + `" "id:6,deny"`} {
		if _, err := compile(text); err == nil || !strings.Contains(err.Error(), "not exist") {
			t.Errorf("compile(%q) = %v, want a file-not-found error", text, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	c := NewCache()
	for _, text := range []string{"SecRuleEngine Maybe", `SecRule ARGS "@rx (" "id:1,deny"`, "SecNoSuchDirective 1", `SecRule ARGS`, `SecRule ARGS "@rx x" "id:1,nosuchaction"`} {
		if _, err := c.Compile(text); err == nil {
			t.Errorf("Compile(%q) passed", text)
		}
	}
}

func TestCRS(t *testing.T) {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	text, err := Compose(Global{}, Location{Enable: true, EnableSet: true, CRS: true, Snippet: "SecRuleEngine On\nSecRequestBodyAccess On"})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCache()
	e, err := c.Compile(text)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("CRS compiled in %v; heap +%.1f MiB", took, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20))
	if e.Mode != "On" || e.BodyLimit != defaultBodyLimit {
		t.Errorf("mode %s limit %d", e.Mode, e.BodyLimit)
	}
	if e2, _ := c.Compile(text); e2 != e {
		t.Error("the same text compiled twice")
	}
	// A second rule set with the Core Rule Set shares Coraza's compiled
	// patterns with the first.
	runtime.GC()
	runtime.ReadMemStats(&before)
	start = time.Now()
	if _, err := c.Compile(text + "SecRuleRemoveById 942100\n"); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("a second Core Rule Set compiled in %v; heap +%.1f MiB", time.Since(start), float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20))
	c.Sweep()
	c.Sweep() // both unused since: released
	if c.Len() != 0 {
		t.Errorf("%d rule sets kept after two sweeps without use", c.Len())
	}
	tx := e.WAF.NewTransactionWithID("after-close")
	tx.ProcessURI("/?id=1' OR '1'='1", "GET", "HTTP/1.1")
	tx.AddRequestHeader("Host", "example.com")
	tx.ProcessRequestHeaders()
	if it, _ := tx.ProcessRequestBody(); it == nil {
		t.Error("an engine released from the cache stopped blocking")
	}
	tx.Close()
	for uri, blocked := range map[string]bool{
		"/?id=1' OR '1'='1":                      true,
		"/?q=1 UNION SELECT password FROM users": true,
		"/?q=<script>alert(1)</script>":          true,
		"/products?id=42&sort=price":             false,
		"/":                                      false,
	} {
		tx := e.WAF.NewTransactionWithID("t")
		tx.ProcessConnection("127.0.0.1", 5555, "127.0.0.1", 80)
		tx.ProcessURI(uri, "GET", "HTTP/1.1")
		tx.AddRequestHeader("Host", "example.com")
		tx.AddRequestHeader("User-Agent", "Mozilla/5.0")
		tx.AddRequestHeader("Accept", "*/*")
		tx.ProcessRequestHeaders()
		it, err := tx.ProcessRequestBody()
		if err != nil {
			t.Fatal(err)
		}
		if (it != nil) != blocked {
			t.Errorf("%s: interruption %v, want blocked=%v", uri, it, blocked)
		}
		tx.Close()
	}
}

// TestNoTempDir: Coraza refuses to start without a writable temporary
// directory (it keeps multipart uploads there); the error says what to
// mount, and the rule set is refused rather than served without rules.
func TestNoTempDir(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	_, err := compile("SecRuleEngine On")
	if err == nil || !strings.Contains(err.Error(), "emptyDir") {
		t.Fatalf("compile without a temporary directory: %v", err)
	}
}
