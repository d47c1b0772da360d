package extauth

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
)

// The auth sub-request marker: moat's own auth sub-requests carry
// HopHeader = token + ":" + depth, the token random per process so a
// client cannot forge a depth moat trusts. A request arriving with the
// token is an auth sub-request that came back to moat; past
// MaxDepth it is refused, which bounds an auth-url loop into moat.
const (
	HopHeader = "X-Moat-Auth-Hop"
	MaxDepth  = 3 // translate.MaxAuthDepth
)

func newAuthToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Hop parses the marker; mine is false for a value moat did not set.
func (x *Auth) Hop(v []string) (depth int, mine bool) {
	if len(v) != 1 {
		return 0, false
	}
	tok, d, ok := strings.Cut(v[0], ":")
	if !ok || tok != x.token {
		return 0, false
	}
	n, err := strconv.Atoi(d)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}
