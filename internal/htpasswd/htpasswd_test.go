package htpasswd

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Vectors from openssl passwd -1 / -apr1; bcrypt round-trips below.
func TestVerify(t *testing.T) {
	cases := []struct {
		hash, pw string
		ok       bool
	}{
		{"$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", "myPassword", true},
		{"$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", "mypassword", false},
		{"$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", "password", true},
		{"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password", true},
		{"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "Password", false},
		{"password", "password", false},
	}
	for _, c := range cases {
		if got := Verify(c.hash, c.pw); got != c.ok {
			t.Errorf("Verify(%q, %q) = %v, want %v", c.hash, c.pw, got, c.ok)
		}
	}
}

func TestBcrypt(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	y := "$2y$" + string(h[4:]) // htpasswd -B writes $2y$
	if !Verify(y, "s3cret") || Verify(y, "s3cre") {
		t.Errorf("bcrypt verify failed for %s", y)
	}
}

// TestBcryptCostBounded: a hash above htpasswd's maximum cost is refused
// at once instead of hashing for hours per request (FuzzVerify found it).
func TestBcryptCostBounded(t *testing.T) {
	if Verify("$2y$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", "x") {
		t.Error("cost 31 verified")
	}
}
