// Package suite is the Gateway API conformance suite as a test binary:
// build.sh compiles it with `go test -c`, and test/gatewayconformance runs
// it with the suite's flags (--gateway-class, --conformance-profiles, ...).
package suite

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

func TestConformance(t *testing.T) {
	conformance.RunConformance(t)
}
