package fwdheaders

import (
	"net/http"
	"testing"
)

func TestDropUnderscoreHeaders(t *testing.T) {
	h := http.Header{"X_under": {"1"}, "X-Dash": {"2"}, "_": {"3"}}
	DropUnderscore(h)
	if len(h) != 1 || h.Get("X-Dash") != "2" {
		t.Errorf("headers = %v", h)
	}
}
