package retry

import (
	"net/http"
	"testing"
)

func TestReverseProxyFlushes(t *testing.T) {
	for _, tc := range []struct {
		length int64
		ct     string
		want   bool
	}{
		{-1, "text/plain", true},
		{10, "text/event-stream", true},
		{10, "Text/Event-Stream; charset=utf-8", true},
		{10, "text/event-streams", false},
		{10, "text/plain", false},
		{10, "", false},
	} {
		res := &http.Response{ContentLength: tc.length, Header: http.Header{"Content-Type": {tc.ct}}}
		if got := reverseProxyFlushes(res); got != tc.want {
			t.Errorf("length %d, %q: %v, want %v", tc.length, tc.ct, got, tc.want)
		}
	}
}
