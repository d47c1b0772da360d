package kube

import (
	"slices"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Only ConfigMap refs with a valid name are watched, once each, in the
// policy's namespace; Secrets are watched anyway and other kinds never.
func TestBackendTLSPolicyConfigMapRefs(t *testing.T) {
	p := &gatewayv1.BackendTLSPolicy{}
	p.Namespace = "ns"
	p.Spec.Validation.CACertificateRefs = []gatewayv1.LocalObjectReference{
		{Kind: "ConfigMap", Name: "ca"}, {Kind: "Secret", Name: "sec"}, {Kind: "ConfigMap", Name: "ca"},
		{Group: "example.com", Kind: "ConfigMap", Name: "x"}, {Kind: "ConfigMap", Name: "Not_A_Name"}, {Kind: "ConfigMap", Name: "ca2"},
	}
	if got := BackendTLSPolicyConfigMapRefs(p); !slices.Equal(got, []string{"ns/ca", "ns/ca2"}) {
		t.Errorf("refs %v", got)
	}
}
