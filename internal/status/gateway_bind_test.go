package status

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/gateway"
)

// A listener whose port the data plane could not bind is written
// Programmed=False/Pending; the Gateway too once no port is open.
func TestBindStatus(t *testing.T) {
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "ns"},
		Spec: gatewayv1.GatewaySpec{Listeners: []gatewayv1.Listener{{Name: "ok", Port: 80}, {Name: "busy", Port: 81}}}}
	sn := &store.Snapshot{GatewayAPI: map[store.Key]runtime.Object{{Kind: store.KindGateway, Namespace: "ns", Name: "gw"}: gw}}
	programmed := func() []metav1.Condition {
		return []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue, Reason: "Programmed"}}
	}
	want := func() gateway.Status {
		return gateway.Status{Gateways: map[string]gatewayv1.GatewayStatus{"ns/gw": {
			Addresses:  []gatewayv1.GatewayStatusAddress{{Value: "10.0.0.5"}},
			Conditions: programmed(),
			Listeners:  []gatewayv1.ListenerStatus{{Name: "ok", Conditions: programmed()}, {Name: "busy", Conditions: programmed()}},
		}}}
	}
	busy := func(ap netip.AddrPort) error {
		if ap == netip.MustParseAddrPort("10.0.0.5:81") {
			return errors.New("address already in use")
		}
		return nil
	}
	st := want()
	bindStatus(st, sn, busy, time.Now())
	g := st.Gateways["ns/gw"]
	if c := meta.FindStatusCondition(g.Listeners[1].Conditions, "Programmed"); c.Status != metav1.ConditionFalse || c.Reason != "Pending" {
		t.Errorf("busy listener: %+v", c)
	}
	if !meta.IsStatusConditionTrue(g.Listeners[0].Conditions, "Programmed") || !meta.IsStatusConditionTrue(g.Conditions, "Programmed") {
		t.Errorf("the bound listener or the Gateway is not Programmed: %+v", g)
	}
	st = want()
	bindStatus(st, sn, func(netip.AddrPort) error { return errors.New("cannot assign requested address") }, time.Now())
	if c := meta.FindStatusCondition(st.Gateways["ns/gw"].Conditions, "Programmed"); c.Status != metav1.ConditionFalse || c.Reason != "Pending" {
		t.Errorf("no port bound, Gateway: %+v", c)
	}
}
