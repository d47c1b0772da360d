// Package htpasswd verifies passwords against the hashes Apache's
// htpasswd writes and nginx's auth_basic accepts: bcrypt ($2y$, $2a$,
// $2b$), SHA-1 ({SHA}) and MD5-crypt ($apr1$ and $1$). Plain-text and DES
// crypt(3) entries are refused by translate before they get here.
package htpasswd

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// MaxBcryptCost is the highest bcrypt cost verified: htpasswd -C allows
// 4 to 17. A cost of 31 would spend hours per request (found by FuzzVerify).
const MaxBcryptCost = 17

// Verify reports whether password matches hash.
func Verify(hash, password string) bool {
	switch {
	case strings.HasPrefix(hash, "$2"):
		if c, err := bcrypt.Cost([]byte(hash)); err != nil || c > MaxBcryptCost {
			return false
		}
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	case strings.HasPrefix(hash, "{SHA}"):
		sum := sha1.Sum([]byte(password))
		want := base64.StdEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(hash[len("{SHA}"):]), []byte(want)) == 1
	case strings.HasPrefix(hash, "$apr1$"):
		return md5Match(hash, password, "$apr1$")
	case strings.HasPrefix(hash, "$1$"):
		return md5Match(hash, password, "$1$")
	}
	return false
}

func md5Match(hash, password, magic string) bool {
	rest := hash[len(magic):]
	salt, _, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(MD5Crypt(password, salt, magic)), []byte(hash)) == 1
}

// MD5Crypt is Poul-Henning Kamp's MD5-based crypt, as in FreeBSD and
// Apache's apr_md5_encode: magic is "$1$" or "$apr1$", salt at most 8
// characters. It returns magic + salt + "$" + 22 characters.
func MD5Crypt(password, salt, magic string) string {
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw := []byte(password)
	alt := md5.Sum([]byte(password + salt + password))
	h := md5.New()
	h.Write(pw)
	h.Write([]byte(magic + salt))
	for i := len(pw); i > 0; i -= 16 {
		h.Write(alt[:min(16, i)])
	}
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	sum := h.Sum(nil)
	for i := 0; i < 1000; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(sum)
		}
		if i%3 != 0 {
			h.Write([]byte(salt))
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(sum)
		} else {
			h.Write(pw)
		}
		sum = h.Sum(sum[:0])
	}
	const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 0, len(magic)+len(salt)+23)
	out = append(out, magic...)
	out = append(out, salt...)
	out = append(out, '$')
	enc := func(a, b, c byte, n int) {
		v := uint(a)<<16 | uint(b)<<8 | uint(c)
		for ; n > 0; n-- {
			out = append(out, itoa64[v&0x3f])
			v >>= 6
		}
	}
	enc(sum[0], sum[6], sum[12], 4)
	enc(sum[1], sum[7], sum[13], 4)
	enc(sum[2], sum[8], sum[14], 4)
	enc(sum[3], sum[9], sum[15], 4)
	enc(sum[4], sum[10], sum[5], 4)
	enc(0, 0, sum[11], 2)
	return string(out)
}
