package extauth

import (
	"net/http"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestAuthCacheTTL: nginx's proxy_cache rules for the auth answer.
func TestAuthCacheTTL(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	rules := []routecfg.CacheRule{{Codes: []int{200, 202}, TTL: 10 * time.Minute}, {Codes: []int{401}, TTL: time.Minute}}
	withAny := append(rules, routecfg.CacheRule{Any: true, TTL: 5 * time.Second})
	for _, tc := range []struct {
		name   string
		rules  []routecfg.CacheRule
		status int
		h      http.Header
		want   time.Duration
	}{
		{"200 by rule", rules, 200, nil, 10 * time.Minute},
		{"401 by rule", rules, 401, nil, time.Minute},
		{"403 not listed", rules, 403, nil, 0},
		{"403 by any", withAny, 403, nil, 5 * time.Second},
		{"first matching rule", []routecfg.CacheRule{{Any: true, TTL: time.Second}, {Codes: []int{200}, TTL: time.Hour}}, 200, nil, time.Second},
		{"Set-Cookie", rules, 200, http.Header{"Set-Cookie": {"a=1"}}, 0},
		{"Vary *", rules, 200, http.Header{"Vary": {"*"}}, 0},
		{"no-store", rules, 200, http.Header{"Cache-Control": {"no-store"}}, 0},
		{"private", rules, 200, http.Header{"Cache-Control": {"Private, max-age=60"}}, 0},
		{"max-age wins", rules, 200, http.Header{"Cache-Control": {"public, max-age=30"}}, 30 * time.Second},
		{"max-age for an unlisted status", rules, 403, http.Header{"Cache-Control": {"max-age=30"}}, 30 * time.Second},
		{"s-maxage before max-age", rules, 200, http.Header{"Cache-Control": {"max-age=30, s-maxage=90"}}, 90 * time.Second},
		{"max-age=0", rules, 200, http.Header{"Cache-Control": {"max-age=0"}}, 0},
		{"X-Accel-Expires wins", rules, 200, http.Header{"X-Accel-Expires": {"7"}, "Cache-Control": {"max-age=30"}}, 7 * time.Second},
		{"X-Accel-Expires 0", rules, 200, http.Header{"X-Accel-Expires": {"0"}}, 0},
		{"X-Accel-Expires absolute", rules, 200, http.Header{"X-Accel-Expires": {"@1700000100"}}, 100 * time.Second},
		{"Expires", rules, 200, http.Header{"Expires": {now.Add(time.Hour).UTC().Format(http.TimeFormat)}}, time.Hour},
		{"Expires past", rules, 200, http.Header{"Expires": {now.Add(-time.Hour).UTC().Format(http.TimeFormat)}}, 0},
		{"Expires invalid", rules, 200, http.Header{"Expires": {"0"}}, 0},
	} {
		if got := authCacheTTL(tc.rules, tc.status, tc.h, now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAuthCacheBounds: entries expire, go after 30 minutes unused, and
// the oldest go first past the size bound.
func TestAuthCacheBounds(t *testing.T) {
	var c authCache
	now := time.Unix(1_700_000_000, 0)
	k := func(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8), byte(i >> 16)} }
	c.put(k(1), &authEntry{status: 200, expires: now.Add(time.Minute), lastUsed: now})
	if _, ok := c.get(k(1), now.Add(59*time.Second)); !ok {
		t.Error("fresh entry missed")
	}
	if _, ok := c.get(k(1), now.Add(time.Minute)); ok {
		t.Error("expired entry hit")
	}
	c.put(k(2), &authEntry{status: 200, expires: now.Add(2 * time.Hour), lastUsed: now})
	if _, ok := c.get(k(2), now.Add(29*time.Minute)); !ok {
		t.Error("entry used within 30 minutes missed")
	}
	if _, ok := c.get(k(2), now.Add(59*time.Minute+time.Second)); ok {
		t.Error("entry unused for 30 minutes hit")
	}
	for i := 0; i < authCacheEntries+100; i++ {
		c.put(k(10+i), &authEntry{status: 200, expires: now.Add(time.Hour), lastUsed: now})
	}
	if len(c.m) != authCacheEntries {
		t.Errorf("%d entries, bound %d", len(c.m), authCacheEntries)
	}
	if _, ok := c.get(k(10), now); ok {
		t.Error("oldest entry kept past the bound")
	}
	if _, ok := c.get(k(10+authCacheEntries+99), now); !ok {
		t.Error("newest entry dropped")
	}
	if len(c.order) > 2*authCacheEntries+1 {
		t.Errorf("order grew to %d", len(c.order))
	}
}
