package translate

import (
	"os"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/gateway"
)

// The status of testdata/gateway-api.txt's objects, as the spec names
// conditions and reasons (golden: testdata/gateway-api.status).
func TestGatewayStatusGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/gateway-api.txt")
	if err != nil {
		t.Fatal(err)
	}
	sec := splitSections(string(raw))
	objs, diags := k8s.Decode([]byte(newCertGen(t).expand(t, sec["input"])), "input.yaml")
	for _, o := range objs {
		if m, ok := o.Obj.(interface{ SetGeneration(int64) }); ok {
			m.SetGeneration(3)
		}
	}
	got := gateway.Dump(GatewayStatus(store.FromObjects(objs, diags), Options{}))
	const file = "testdata/gateway-api.status"
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("status differs (run with -update to accept)\n--- got\n%s--- want\n%s", got, want)
	}
	if !strings.Contains(got, "gatewayclass moat Accepted=True/Accepted@3") || strings.Contains(got, "gatewayclass other") {
		t.Errorf("only moat's GatewayClass is ours:\n%s", got)
	}
}
