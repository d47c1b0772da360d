package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		objs  []string
		diags []want
	}{{
		name: "multi-document with comments, empty documents and markers",
		in: `
		# leading comment
		---
		apiVersion: v1
		kind: Service
		metadata:
		  name: a
		---
		---
		# only a comment
		--- # note
		apiVersion: v1
		kind: ConfigMap
		metadata:
		  name: b
		  namespace: ns
		...
		`,
		objs: []string{"Service default/a@3", "ConfigMap ns/b@11"},
	}, {
		name: "List expands, each item on its own line",
		in: `
		apiVersion: v1
		kind: List
		items:
		- apiVersion: v1
		  kind: Service
		  metadata:
		    name: a
		-
		  apiVersion: v1
		  kind: Service
		  metadata:
		    name: b
		metadata: {}
		`,
		objs: []string{"Service default/a@4", "Service default/b@8"},
	}, {
		name: "List with items at column 0",
		in: `
		apiVersion: v1
		kind: List
		items:
		- apiVersion: v1
		  kind: Service
		  metadata: {name: a}
		- apiVersion: v1
		  kind: Service
		  metadata: {name: b, namespace: x}
		`,
		objs: []string{"Service default/a@4", "Service x/b@7"},
	}, {
		name: "flow-style List falls back to the document's line",
		in: `
		apiVersion: v1
		kind: List
		items: [{apiVersion: v1, kind: Service, metadata: {name: a}}]
		`,
		objs: []string{"Service default/a@1"},
	}, {
		name: "typed List (as the API returns it) gives items their kind",
		in: `
		apiVersion: v1
		kind: ServiceList
		items:
		- metadata:
		    name: a
		`,
		objs: []string{"Service default/a@4"},
	}, {
		name: "List item that is not an object",
		in: `
		apiVersion: v1
		kind: List
		items:
		- 42
		- apiVersion: v1
		  kind: Service
		  metadata: {name: a}
		`,
		objs:  []string{"Service default/a@5"},
		diags: []want{{sev: diag.Error, reason: ReasonInvalid, line: 4, field: "items[0]"}},
	}, {
		name:  "List items that are not a list",
		in:    "apiVersion: v1\nkind: List\nitems: {a: 1}\n",
		diags: []want{{sev: diag.Error, reason: ReasonInvalid, line: 1, field: "items"}},
	}, {
		name: "YAML flow mapping that looks like JSON",
		in:   `{apiVersion: v1, kind: Service, metadata: {name: a}}`,
		objs: []string{"Service default/a@1"},
	}, {
		name: "broken YAML in one document; the others decode",
		in: `
		apiVersion: v1
		kind: Service
		metadata:
		  name: a
		---
		apiVersion: v1
		kind: Service
		metadata:
		  name: b
		   labels: x
		---
		apiVersion: v1
		kind: Service
		metadata:
		  name: c
		`,
		objs:  []string{"Service default/a@1", "Service default/c@12"},
		diags: []want{{sev: diag.Error, reason: ReasonParseError, line: 10, in: "t.yaml:10: invalid YAML"}},
	}, {
		name:  "unterminated quote is a parse error with its line",
		in:    "apiVersion: v1\nkind: Service\nmetadata:\n  name: \"a\n",
		diags: []want{{sev: diag.Error, reason: ReasonParseError, line: 4}},
	}, {
		name: "document that is not a mapping",
		in: `
		- a
		- b
		---
		just a string
		`,
		diags: []want{
			{sev: diag.Error, reason: ReasonInvalid, line: 1, in: "found a list"},
			{sev: diag.Error, reason: ReasonInvalid, line: 4, in: "found a string"},
		},
	}, {
		name: "missing apiVersion or kind",
		in: `
		kind: Service
		metadata: {name: a}
		---
		apiVersion: v1
		metadata: {name: b}
		`,
		diags: []want{
			{sev: diag.Error, reason: ReasonInvalid, line: 1, field: "apiVersion", in: "service default/a"},
			{sev: diag.Error, reason: ReasonInvalid, line: 4, field: "kind", in: "t.yaml:4: b: kind: object has no kind"},
		},
	}, {
		name: "missing name",
		in: `
		apiVersion: v1
		kind: Service
		spec: {}
		`,
		diags: []want{{sev: diag.Error, reason: ReasonInvalid, field: "metadata.name"}},
	}, {
		name: "unknown kinds are skipped with an Info",
		in: `
		apiVersion: apps/v1
		kind: Deployment
		metadata: {name: web}
		---
		apiVersion: serving.knative.dev/v1
		kind: Service
		metadata: {name: kn}
		---
		apiVersion: v1
		kind: ServiceAccount
		metadata: {name: application}
		`,
		diags: []want{
			{sev: diag.Info, reason: ReasonUnknownKind, line: 1, in: "kind Deployment (apps/v1) is not used by moat; ignored"},
			{sev: diag.Info, reason: ReasonUnknownKind, line: 5, in: "kind Service (serving.knative.dev/v1)"},
			{sev: diag.Info, reason: ReasonUnknownKind, line: 9, in: "kind ServiceAccount (v1)"},
		},
	}, {
		name: "a kind of ours at an unknown version is an error",
		in: `
		apiVersion: networking.k8s.io/v2
		kind: Ingress
		metadata: {name: web}
		---
		apiVersion: discovery.k8s.io/v1beta1
		kind: EndpointSlice
		metadata: {name: web-1}
		---
		kind: Ingress
		apiVersion: v1
		metadata: {name: core}
		`,
		diags: []want{
			{sev: diag.Error, reason: ReasonUnsupportedAPI, line: 1, field: "apiVersion", in: "ingress default/web"},
			{sev: diag.Error, reason: ReasonUnsupportedAPI, line: 5, in: "removed in Kubernetes 1.25"},
			{sev: diag.Error, reason: ReasonUnsupportedAPI, line: 10, in: "Ingress v1 is not an API version moat reads"},
		},
	}, {
		name: "miscased kind is an error with a hint",
		in: `
		apiVersion: networking.k8s.io/v1
		kind: ingress
		metadata: {name: web}
		`,
		diags: []want{{sev: diag.Error, reason: ReasonUnknownKind, field: "kind"}},
	}, {
		name: "unknown and duplicate fields warn; the object decodes",
		in: `
		apiVersion: v1
		kind: Service
		metadata:
		  name: a
		  name: b
		spec:
		  portz: 1
		  ports:
		  - port: 80
		    nmae: http
		`,
		objs: []string{"Service default/b@1"},
		diags: []want{
			{sev: diag.Warning, reason: ReasonDuplicateField, line: 5, in: `key "name" already set`},
			{sev: diag.Warning, reason: ReasonUnknownField, line: 7, field: "spec.portz"},
			{sev: diag.Warning, reason: ReasonUnknownField, line: 10, field: "spec.ports[0].nmae"},
		},
	}, {
		name: "unquoted annotation and label values are read as strings",
		in: `
		apiVersion: networking.k8s.io/v1
		kind: Ingress
		metadata:
		  name: web
		  labels:
		    tier: 1
		  annotations:
		    nginx.ingress.kubernetes.io/ssl-redirect: false
		    nginx.ingress.kubernetes.io/proxy-body-size: 8m
		    bad: [a]
		`,
		objs: []string{"Ingress default/web@1"},
		diags: []want{
			{sev: diag.Warning, reason: ReasonNonStringValue, line: 6, field: "metadata.labels.tier"},
			{sev: diag.Warning, reason: ReasonNonStringValue, line: 8, field: "metadata.annotations.nginx.ingress.kubernetes.io/ssl-redirect", in: `read as "false"`},
			{sev: diag.Error, reason: ReasonInvalid, line: 10, field: "metadata.annotations.bad"},
		},
	}, {
		name: "a type mismatch drops the object",
		in: `
		apiVersion: networking.k8s.io/v1
		kind: Ingress
		metadata: {name: web}
		spec:
		  rules: "everything"
		---
		apiVersion: v1
		kind: Service
		metadata: {name: ok}
		`,
		objs:  []string{"Service default/ok@7"},
		diags: []want{{sev: diag.Error, reason: ReasonInvalid, line: 1, in: "ingress default/web"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, diags := Decode([]byte(dedent(tt.in)), "t.yaml")
			checkKeys(t, objs, tt.objs...)
			checkDiags(t, diags, tt.diags...)
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		objs  []string
		diags []want
	}{{
		name: "one object",
		in: `{
		  "apiVersion": "v1",
		  "kind": "Service",
		  "metadata": {"name": "a"},
		  "spec": {"ports": [{"port": 80}]}
		}`,
		objs: []string{"Service default/a@1"},
	}, {
		name: "a stream of objects, each with its line",
		in: `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}

		{"apiVersion": "v1", "kind": "Service",
		 "metadata": {"name": "b"}}
		`,
		objs: []string{"Service default/a@1", "Service default/b@3"},
	}, {
		name: "List",
		in: `{"apiVersion": "v1", "kind": "List", "items": [
		  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
		  {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "moat"}}
		]}`,
		objs: []string{"ConfigMap default/a@1", "IngressClass /moat@1"},
	}, {
		name: "duplicate and unknown fields",
		in:   `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "name": "b"}, "spek": {}}`,
		objs: []string{"Service default/b@1"},
		diags: []want{
			{sev: diag.Warning, reason: ReasonDuplicateField, field: "metadata.name"},
			{sev: diag.Warning, reason: ReasonUnknownField, field: "spek"},
		},
	}, {
		name: "syntax error after a good object",
		in: `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}
		{"apiVersion": "v1",
		 "kind": }`,
		objs:  []string{"Service default/a@1"},
		diags: []want{{sev: diag.Error, reason: ReasonParseError, line: 3, in: "invalid JSON"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, diags := Decode([]byte(dedent(tt.in)), "t.json")
			checkKeys(t, objs, tt.objs...)
			checkDiags(t, diags, tt.diags...)
		})
	}
}

func TestDecodeTyped(t *testing.T) {
	in := dedent(`
	apiVersion: networking.k8s.io/v1
	kind: Ingress
	metadata:
	  name: web
	spec:
	  ingressClassName: moat
	  rules:
	  - host: example.com
	    http:
	      paths:
	      - path: /
	        backend:
	          service:
	            name: web
	            port: {number: 80}
	---
	apiVersion: networking.k8s.io/v1
	kind: IngressClass
	metadata:
	  name: moat
	  namespace: ignored
	spec:
	  controller: moat.dev/ingress
	---
	apiVersion: v1
	kind: Service
	metadata: {name: web}
	spec:
	  ports:
	  - port: 80
	  - port: 443
	    targetPort: https
	    protocol: UDP
	---
	apiVersion: discovery.k8s.io/v1
	kind: EndpointSlice
	metadata:
	  name: web-abc
	  labels: {kubernetes.io/service-name: web}
	addressType: IPv4
	endpoints:
	- addresses: [10.0.0.1]
	  conditions: {ready: true}
	ports:
	- port: 3000
	`)
	objs, diags := Decode([]byte(in), "t.yaml")
	checkDiags(t, diags)
	checkKeys(t, objs, "Ingress default/web@1", "IngressClass /moat@17", "Service default/web@25", "EndpointSlice default/web-abc@35")

	ing := objs[0].Obj.(*networkingv1.Ingress)
	if p := ing.Spec.Rules[0].HTTP.Paths[0]; p.PathType != nil {
		t.Errorf("v1 pathType = %v, want nil: a v1 Ingress without pathType is invalid and translate must see that", *p.PathType)
	}
	if ic := objs[1].Obj.(*networkingv1.IngressClass); ic.Namespace != "" || ic.Spec.Controller != "moat.dev/ingress" {
		t.Errorf("IngressClass = %+v", ic)
	}
	svc := objs[2].Obj.(*corev1.Service)
	if p := svc.Spec.Ports[0]; p.Protocol != corev1.ProtocolTCP || p.TargetPort.IntValue() != 80 {
		t.Errorf("defaulted port = %+v, want TCP and targetPort 80", p)
	}
	if p := svc.Spec.Ports[1]; p.Protocol != corev1.ProtocolUDP || p.TargetPort.String() != "https" {
		t.Errorf("explicit port = %+v", p)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service type = %q", svc.Spec.Type)
	}
	es := objs[3].Obj.(*discoveryv1.EndpointSlice)
	if es.Ports[0].Protocol == nil || *es.Ports[0].Protocol != corev1.ProtocolTCP || *es.Endpoints[0].Conditions.Ready != true {
		t.Errorf("EndpointSlice = %+v", es)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# nothing\n", "---\n---\n", "null\n", "\xef\xbb\xbf---\n",
		"apiVersion: v1\nkind: List\nitems: []\n", "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\n"} {
		objs, diags := Decode([]byte(in), "t.yaml")
		if len(objs) != 0 || len(diags) != 0 {
			t.Errorf("Decode(%q) = %v, %v; want nothing", in, objs, diags)
		}
	}
}
