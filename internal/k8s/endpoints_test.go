package k8s

import (
	"fmt"
	"strings"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

func TestEndpoints(t *testing.T) {
	in := dedent(`
	apiVersion: v1
	kind: Endpoints
	metadata:
	  name: web
	  labels: {app: web}
	subsets:
	- addresses:
	  - ip: 10.0.0.1
	    nodeName: n1
	  - ip: fd00::1
	    hostname: web-0
	  notReadyAddresses:
	  - ip: 10.0.0.2
	  - ip: not-an-ip
	  ports:
	  - name: http
	    port: 3000
	  - name: metrics
	    port: 9090
	    protocol: UDP
	- addresses:
	  - ip: 10.0.1.1
	  ports:
	  - port: 8080
	`)
	objs, diags := Decode([]byte(in), "ep.yaml")
	checkKeys(t, objs,
		"EndpointSlice default/web-endpoints-0@1",
		"EndpointSlice default/web-endpoints-1@1",
		"EndpointSlice default/web-endpoints-2@1")
	checkDiags(t, diags, want{sev: diag.Error, reason: ReasonInvalidEndpoint, field: "subsets[0].notReadyAddresses[1].ip"})

	render := func(es *discoveryv1.EndpointSlice) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s svc=%s app=%s ports=", es.Name, es.AddressType, es.Labels[discoveryv1.LabelServiceName], es.Labels["app"])
		for _, p := range es.Ports {
			fmt.Fprintf(&b, "%s/%d/%s,", *p.Name, *p.Port, *p.Protocol)
		}
		b.WriteString(" eps=")
		for _, e := range es.Endpoints {
			fmt.Fprintf(&b, "%s:%v", e.Addresses[0], *e.Conditions.Ready)
			if e.Hostname != nil {
				fmt.Fprintf(&b, ":host=%s", *e.Hostname)
			}
			if e.NodeName != nil {
				fmt.Fprintf(&b, ":node=%s", *e.NodeName)
			}
			b.WriteString(",")
		}
		return b.String()
	}
	want := []string{
		"web-endpoints-0 IPv4 svc=web app=web ports=http/3000/TCP,metrics/9090/UDP, eps=10.0.0.1:true:node=n1,10.0.0.2:false,",
		"web-endpoints-1 IPv6 svc=web app=web ports=http/3000/TCP,metrics/9090/UDP, eps=fd00::1:true:host=web-0,",
		"web-endpoints-2 IPv4 svc=web app=web ports=/8080/TCP, eps=10.0.1.1:true,",
	}
	for i, o := range objs {
		if got := render(o.Obj.(*discoveryv1.EndpointSlice)); got != want[i] {
			t.Errorf("slice %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}

func TestEndpointsEmpty(t *testing.T) {
	objs, diags := Decode([]byte("apiVersion: v1\nkind: Endpoints\nmetadata: {name: web, namespace: x}\n"), "ep.yaml")
	checkDiags(t, diags)
	if len(objs) != 0 {
		t.Errorf("objs = %v, want none for an Endpoints without subsets", keys(objs))
	}
}
