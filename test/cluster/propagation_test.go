package cluster

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var propagationChanges = flag.Int("propagation.changes", 50, "Ingress changes TestPropagationDelay measures")

// TestPropagationDelay measures, over -propagation.changes changes, the
// delay from an Ingress write to the API server to the new route serving,
// and reports p50 and p99 (hack/propagation.sh prints them). It asserts
// only that every change arrives (within 5 s), not how fast.
func TestPropagationDelay(t *testing.T) {
	ns := namespace(t, "propagation")
	ctx := context.Background()
	ip := backend(t, "prop")
	createService(t, ns, "prop", ip)
	createIngress(t, ingress(ns, "prop", "prop.propagation.test", "/p0", "prop", ""))
	m := startMoat(t, "moat-propagation", nil, ns)
	c := m.client(nil)
	eventually(t, 5*time.Second, "first route", serves(c, "http://prop.propagation.test/p0/x", http.StatusOK, "prop", nil))

	ings := cp.client.NetworkingV1().Ingresses(ns)
	ing, err := ings.Get(ctx, "prop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := *propagationChanges
	delays := make([]time.Duration, 0, n)
	for i := 1; i <= n; i++ {
		path := fmt.Sprintf("/p%d", i)
		ing.Spec.Rules[0].HTTP.Paths[0].Path = path
		start := time.Now()
		updated, err := ings.Update(ctx, ing, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			// The status writer updated it meanwhile: re-read, not timed.
			if ing, err = ings.Get(ctx, "prop", metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			}
			i--
			continue
		}
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		ing = updated
		url := "http://prop.propagation.test" + path + "/x"
		for {
			if serves(c, url, http.StatusOK, "prop", nil)() == nil {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("change %d (%s) not served within 5s", i, path)
			}
			time.Sleep(2 * time.Millisecond)
		}
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	// Nearest-rank percentile.
	pct := func(p float64) time.Duration { return delays[int(math.Ceil(p*float64(len(delays))))-1] }
	t.Logf("propagation: changes=%d p50=%v p99=%v min=%v max=%v",
		len(delays), pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond),
		delays[0].Round(time.Millisecond), delays[len(delays)-1].Round(time.Millisecond))
}
