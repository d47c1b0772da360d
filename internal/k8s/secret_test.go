package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

func TestSecret(t *testing.T) {
	in := dedent(`
	apiVersion: v1
	kind: Secret
	metadata:
	  name: tls
	type: kubernetes.io/tls
	data:
	  tls.crt: Y2VydA==
	  tls.key: "not base64!"
	  wrapped: |
	    aGVs
	    bG8=
	  number: 12
	  ca.crt: b2xk
	stringData:
	  ca.crt: new
	  plain: text
	  port: 8080
	`)
	objs, diags := Decode([]byte(in), "s.yaml")
	checkKeys(t, objs, "Secret default/tls@1")
	checkDiags(t, diags,
		want{sev: diag.Error, reason: ReasonInvalidBase64, line: 8, field: "data.tls.key", in: "secret default/tls"},
		want{sev: diag.Error, reason: ReasonInvalidBase64, line: 12, field: "data.number"},
		want{sev: diag.Warning, reason: ReasonNonStringValue, line: 17, field: "stringData.port"},
	)
	s := objs[0].Obj.(*corev1.Secret)
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	wantData := map[string]string{"tls.crt": "cert", "wrapped": "hello", "ca.crt": "new", "plain": "text", "port": "8080"}
	if len(got) != len(wantData) {
		t.Errorf("data = %q, want %q", got, wantData)
	}
	for k, v := range wantData {
		if got[k] != v {
			t.Errorf("data[%s] = %q, want %q", k, got[k], v)
		}
	}
	if s.StringData != nil {
		t.Errorf("stringData = %v, want it merged and cleared", s.StringData)
	}
	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("type = %q", s.Type)
	}
}

func TestSecretDefaults(t *testing.T) {
	objs, diags := Decode([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n"), "s.yaml")
	checkDiags(t, diags)
	s := objs[0].Obj.(*corev1.Secret)
	if s.Type != corev1.SecretTypeOpaque || string(s.Data["a"]) != "b" {
		t.Errorf("secret = %+v", s)
	}
}
