package affinity

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
	return annotations.NewReader("", m, diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "a"})
}

func TestDefaults(t *testing.T) {
	r := reader("affinity", "cookie")
	a := Parse(r)
	want := routecfg.Affinity{CookieName: "INGRESSCOOKIE"}
	if a == nil || *a != want || len(r.Diags) != 0 {
		t.Fatalf("%+v %v", a, r.Diags)
	}
	if Parse(reader()) != nil {
		t.Fatal("no annotation gave affinity")
	}
}

func TestAll(t *testing.T) {
	r := reader("affinity", "cookie", "affinity-mode", "persistent", "affinity-canary-behavior", "legacy",
		"session-cookie-name", "route", "session-cookie-path", "/app", "session-cookie-domain", ".example.com",
		"session-cookie-samesite", "strict", "session-cookie-secure", "true", "session-cookie-max-age", "3600",
		"session-cookie-expires", "7200", "session-cookie-change-on-failure", "true", "session-cookie-partitioned", "true",
		"session-cookie-conditional-samesite-none", "true")
	a := Parse(r)
	want := routecfg.Affinity{Mode: routecfg.AffinityPersistent, CookieName: "route", Path: "/app", Domain: ".example.com",
		SameSite: "Strict", ConditionalSameSiteNone: true, Secure: true, Partitioned: true, MaxAge: 3600, HasMaxAge: true,
		Expires: 7200, HasExpires: true, ChangeOnFailure: true, CanaryLegacy: true}
	if *a != want || len(r.Diags) != 0 {
		t.Fatalf("got %+v\nwant %+v\n%v", *a, want, r.Diags)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct{ key, value string }{
		{"affinity", "ip_hash"},
		{"affinity-mode", "sticky"},
		{"affinity-canary-behavior", "always"},
		{"session-cookie-name", "my cookie"},
		{"session-cookie-name", "a;b=c"},
		{"session-cookie-path", "app"},
		{"session-cookie-path", "/a;HttpOnly"},
		{"session-cookie-domain", "a b"},
		{"session-cookie-samesite", "sometimes"},
		{"session-cookie-secure", "yes"},
		{"session-cookie-max-age", "1h"},
		{"session-cookie-max-age", "012"},
		{"session-cookie-expires", "soon"},
		{"session-cookie-change-on-failure", "perhaps"},
	}
	for _, tc := range cases {
		kv := []string{tc.key, tc.value}
		if tc.key != "affinity" {
			kv = append(kv, "affinity", "cookie")
		}
		r := reader(kv...)
		Parse(r)
		if len(r.Diags) != 1 || r.Diags[0].Reason != "AnnotationInvalidValue" ||
			!strings.HasSuffix(r.Diags[0].Field, "/"+tc.key) || !strings.Contains(r.Diags[0].Message, strconv.Quote(tc.value)) {
			t.Errorf("%s=%q: %v", tc.key, tc.value, r.Diags)
		}
	}
}

func TestWarnings(t *testing.T) {
	// Without affinity the options are reported by annotations.CheckNeeds
	// (registry tests), not by Parse.
	r := reader("session-cookie-name", "x")
	if Parse(r) != nil || len(r.Diags) != 0 {
		t.Fatalf("%v", r.Diags)
	}
	r = reader("affinity", "cookie", "session-cookie-samesite", "None")
	if a := Parse(r); a.SameSite != "None" || len(r.Diags) != 1 || r.Diags[0].Reason != "SameSiteNoneWithoutSecure" {
		t.Fatalf("%v", r.Diags)
	}
}
