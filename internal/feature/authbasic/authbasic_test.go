package authbasic

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
)

func TestParseOff(t *testing.T) {
	// Without auth-type the other keys do nothing.
	r := annotest.Reader("auth-secret", "users", "auth-realm", "x")
	if c := Parse(r); c.Enabled || c.Denied != "" {
		t.Fatalf("%+v", c)
	}
	annotest.NoDiags(t, r)
}

func TestParseGood(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		want Config
	}{
		{"name", []string{"auth-type", "basic", "auth-secret", "users"}, Config{Enabled: true, Name: "users"}},
		{"namespace/name and realm", []string{"auth-type", "basic", "auth-secret", "web/users", "auth-realm", "Staff only"},
			Config{Enabled: true, Namespace: "web", Name: "users", Realm: "Staff only"}},
		{"auth-file", []string{"auth-type", "basic", "auth-secret", "users", "auth-secret-type", "auth-file"}, Config{Enabled: true, Name: "users"}},
		{"auth-map", []string{"auth-type", "basic", "auth-secret", "users", "auth-secret-type", "auth-map"}, Config{Enabled: true, Name: "users", Map: true}},
		{"spaces trimmed", []string{"auth-type", " basic ", "auth-secret", " users "}, Config{Enabled: true, Name: "users"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := annotest.Reader(tc.kv...)
			c := Parse(r)
			annotest.NoDiags(t, r)
			if c != tc.want {
				t.Errorf("got %+v, want %+v", c, tc.want)
			}
		})
	}
}

// TestParseBad: an unusable auth-type or a missing Secret denies the
// paths (never serves them without authentication); a bad secret type
// keeps auth-file.
func TestParseBad(t *testing.T) {
	cases := []struct {
		key, value string
		extra      []string
		reason     string
		denied     bool
	}{
		{"auth-type", "digest", []string{"auth-secret", "users"}, "AnnotationInvalidValue", true},
		{"auth-type", "Basic", []string{"auth-secret", "users"}, "AnnotationInvalidValue", true},
		{"auth-type", "oauth", []string{"auth-secret", "users"}, "AnnotationInvalidValue", true},
		{"auth-type", "", []string{"auth-secret", "users"}, "AnnotationInvalidValue", true},
		{"auth-secret", "", []string{"auth-type", "basic"}, "AnnotationMissing", true},
		{"auth-secret-type", "htpasswd", []string{"auth-type", "basic", "auth-secret", "users"}, "AnnotationInvalidValue", false},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			kv := tc.extra
			if tc.value != "" || tc.key != "auth-secret" {
				kv = append([]string{tc.key, tc.value}, kv...)
			}
			r := annotest.Reader(kv...)
			c := Parse(r)
			annotest.WantDiag(t, r, tc.key, tc.value, tc.reason)
			if !c.Enabled {
				t.Error("auth-type set but not enabled")
			}
			if tc.denied != (c.Denied != "") {
				t.Errorf("denied %q, want denied=%v", c.Denied, tc.denied)
			}
			if c.Map {
				t.Error("bad auth-secret-type turned auth-map on")
			}
		})
	}
}

func TestCheckHash(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	good := []string{
		string(b),
		"$2y$" + string(b[4:]),
		"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
		"$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/",
		"$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/",
	}
	for _, h := range good {
		if err := CheckHash(h); err != nil {
			t.Errorf("%q: %v", h, err)
		}
	}
	bad := map[string]string{
		"password":                          "plain-text",
		"abJnggxhB/yWI":                     "plain-text or crypt(3) DES",
		"$2y$05$short":                      "bcrypt",
		"{SHA}short":                        "{SHA}",
		"$apr1$salt$tooshort":               "MD5-crypt",
		"$apr1$r31.....":                    "MD5-crypt",
		"$5$rounds=5000$salt$hash":          "SHA-crypt",
		"$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVk": "SHA-crypt",
		"":                                  "plain-text",
	}
	for h, want := range bad {
		err := CheckHash(h)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error about %s", h, err, want)
		}
	}
}

func TestParseFile(t *testing.T) {
	b, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	data := "# staff\n\nalice:" + string(b) + "\r\nbob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\ncarol:plaintext\nnocolon\n:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
	users, bad := ParseFile(data)
	if len(users) != 2 || users["alice"] != string(b) || users["bob"] == "" {
		t.Errorf("users %v", users)
	}
	want := []string{`line 5 (user "carol")`, "line 6 is not user:hash", "line 7 is not user:hash"}
	if len(bad) != len(want) {
		t.Fatalf("bad %q", bad)
	}
	for i, w := range want {
		if !strings.Contains(bad[i], w) {
			t.Errorf("bad[%d] = %q, want %q", i, bad[i], w)
		}
	}
}
