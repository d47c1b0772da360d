package htpasswd_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/moat-ingress/moat/internal/feature/authbasic"
	"github.com/moat-ingress/moat/internal/htpasswd"
)

// FuzzVerify: any hash and password are checked without panicking; a
// hash made by MD5Crypt verifies its password and no other.
func FuzzVerify(f *testing.F) {
	f.Add("$apr1$salt$", "pw", "$apr1$", "salt")
	f.Add("{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=", "test", "$1$", "ab")
	f.Add("$2y$05$abcdefghijklmnopqrstuu", "x", "$apr1$", "")
	f.Add("plain", "plain", "$1$", "12345678901")
	f.Fuzz(func(t *testing.T, hash, pw, magic, salt string) {
		// A valid cost up to htpasswd.MaxBcryptCost takes seconds per call:
		// cheap costs explore the same code.
		if c, err := bcrypt.Cost([]byte(hash)); err == nil && c > bcrypt.MinCost+2 {
			return
		}
		htpasswd.Verify(hash, pw)
		if magic != "$1$" && magic != "$apr1$" {
			return
		}
		if strings.ContainsAny(salt, "$:\n") || len(salt) > 8 {
			return
		}
		h := htpasswd.MD5Crypt(pw, salt, magic)
		if !htpasswd.Verify(h, pw) {
			t.Fatalf("MD5Crypt(%q, %q, %q) = %q does not verify its password", pw, salt, magic, h)
		}
		if htpasswd.Verify(h, pw+"x") {
			t.Fatalf("%q verifies another password", h)
		}
	})
}

// FuzzParseFile: any htpasswd file content parses into users and
// messages without panicking; no user name is empty or holds ':'.
func FuzzParseFile(f *testing.F) {
	f.Add("foo:$apr1$salt$hash\n# comment\nbar:{SHA}x\n")
	f.Add("bad line\n:nouser\nu:\n")
	f.Fuzz(func(t *testing.T, data string) {
		users, _ := authbasic.ParseFile(data)
		for u := range users {
			if u == "" || strings.Contains(u, ":") {
				t.Fatalf("user %q from %q", u, data)
			}
		}
	})
}
