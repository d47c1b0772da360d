package dataplane

import (
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// A TLSRoute's weighted backends: weight 0 never takes a connection, an
// unresolved backend keeps its share (its connections are closed), and
// all-zero weights pick nothing.
func TestPickPool(t *testing.T) {
	bs := []routecfg.Backend{{Pool: "a", Weight: 3}, {Pool: "b", Weight: 0}, {Pool: "", Weight: 1}}
	seen := map[string]int{}
	for range 400 {
		seen[pickPool(bs)]++
	}
	if seen["b"] != 0 || seen["a"] == 0 || seen[""] == 0 || seen["a"]+seen[""] != 400 {
		t.Errorf("picks %v: want a and the unresolved one, never b", seen)
	}
	if p := pickPool([]routecfg.Backend{{Pool: "a"}, {Pool: "b"}}); p != "" {
		t.Errorf("all weights 0: picked %q", p)
	}
}
