package cluster

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/translate"
)

// TestLeaderWritesStatus runs two replicas: both serve, exactly one (the
// Lease holder) writes the publish address into Ingress status; when it
// dies without releasing the Lease, the other takes over and keeps status
// current; an Ingress moat no longer claims loses the address.
func TestLeaderWritesStatus(t *testing.T) {
	ns := namespace(t, "leader")
	ctx := context.Background()
	ip := backend(t, "app")
	createService(t, ns, "app", ip)
	createIngress(t, ingress(ns, "app", "app.leader.test", "/", "app", ""))

	crash := func(c *app.ControllerConfig) { c.KeepLeaseOnExit = true }
	a := startMoat(t, "moat-a", crash, ns)
	b := startMoat(t, "moat-b", crash, ns)
	replicas := map[string]*moat{a.id: a, b.id: b}

	// Every replica serves traffic.
	for _, m := range replicas {
		eventually(t, 5*time.Second, m.id+" serves", serves(m.client(nil), "http://app.leader.test/", http.StatusOK, "app", nil))
	}

	eventually(t, 20*time.Second, "publish address in status", ingressStatus(ctx, ns, "app", firstAddress))
	leader := leaseHolder(t, ctx)
	lm, ok := replicas[leader]
	if !ok {
		t.Fatalf("lease held by %q, not one of the replicas", leader)
	}
	var follower *moat
	for id, m := range replicas {
		if id != leader {
			follower = m
		}
	}
	if n := metric(t, lm, "moat_status_updates_total"); n < 1 {
		t.Errorf("leader %s wrote %v status updates, want ≥ 1", lm.id, n)
	}
	if n := metric(t, follower, "moat_status_updates_total"); n != 0 {
		t.Errorf("follower %s wrote %v status updates, want 0", follower.id, n)
	}
	if metric(t, lm, "moat_leader") != 1 || metric(t, follower, "moat_leader") != 0 {
		t.Errorf("moat_leader: %s=%v %s=%v, want 1 and 0", lm.id, metric(t, lm, "moat_leader"), follower.id, metric(t, follower, "moat_leader"))
	}
	// ingress-nginx's gauge, labelled with the Lease name and the pod.
	le := func(m *moat) float64 {
		return metric(t, m, `nginx_ingress_controller_leader_election_status{controller_class="`+translate.DefaultControllerClass+
			`",controller_namespace="`+systemNS+`",controller_pod="`+m.id+`",name="`+electionID+`"}`)
	}
	if le(lm) != 1 || le(follower) != 0 {
		t.Errorf("leader_election_status: %s=%v %s=%v, want 1 and 0", lm.id, le(lm), follower.id, le(follower))
	}

	// The leader dies holding the Lease; the follower takes over once it
	// expires (3 s here) and publishes the load balancer's new address.
	lm.stop(t)
	const second = "203.0.113.11"
	if err := setPublishAddress(ctx, second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = setPublishAddress(ctx, firstAddress) })
	eventually(t, 30*time.Second, "new leader publishes the new address", ingressStatus(ctx, ns, "app", second))
	if h := leaseHolder(t, ctx); h != follower.id {
		t.Errorf("lease holder after failover: %q, want %q", h, follower.id)
	}
	if n := metric(t, follower, "moat_status_updates_total"); n < 1 {
		t.Errorf("new leader %s wrote %v status updates, want ≥ 1", follower.id, n)
	}
	eventually(t, 5*time.Second, "survivor serves", serves(follower.client(nil), "http://app.leader.test/", http.StatusOK, "app", nil))

	// An Ingress created after the failover gets the address too.
	createIngress(t, ingress(ns, "late", "late.leader.test", "/", "app", ""))
	eventually(t, 10*time.Second, "status of a new Ingress", ingressStatus(ctx, ns, "late", second))

	// Another class: no longer moat's, so its address is taken out.
	updateIngress(t, ns, "app", func(ing *networkingv1.Ingress) { ing.Spec.IngressClassName = ptr("other") })
	eventually(t, 10*time.Second, "status of an unclaimed Ingress cleared", ingressStatus(ctx, ns, "app"))
}

// ingressStatus returns nil once the Ingress's load-balancer status lists
// exactly ips.
func ingressStatus(ctx context.Context, ns, name string, ips ...string) func() error {
	return func() error {
		ing, err := cp.client.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var got []string
		for _, e := range ing.Status.LoadBalancer.Ingress {
			got = append(got, e.IP+e.Hostname)
		}
		if fmt.Sprint(got) != fmt.Sprint(ips) {
			return fmt.Errorf("ingress %s/%s status.loadBalancer.ingress = %v, want %v", ns, name, got, ips)
		}
		return nil
	}
}

func leaseHolder(t *testing.T, ctx context.Context) string {
	t.Helper()
	l, err := cp.client.CoordinationV1().Leases(systemNS).Get(ctx, electionID, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("lease %s/%s: %v", systemNS, electionID, err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func metric(t *testing.T, m *moat, name string) float64 {
	t.Helper()
	v, err := m.metric(name)
	if err != nil {
		t.Fatalf("moat %s: %v", m.id, err)
	}
	return v
}
