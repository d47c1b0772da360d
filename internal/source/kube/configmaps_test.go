package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/moat-ingress/moat/internal/store"
)

func TestConfigMapRefs(t *testing.T) {
	p := "nginx.ingress.kubernetes.io/"
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: map[string]string{
		p + "custom-headers":           " hdrs ",
		p + "auth-proxy-set-headers":   "shop/auth-hdrs",
		p + "fastcgi-params-configmap": "other/params", // another namespace: translate refuses it
		p + "rewrite-target":           "/",
	}}}
	if got, want := ConfigMapRefs(ing, ""), []string{"shop/hdrs", "shop/auth-hdrs"}; !slices.Equal(got, want) {
		t.Errorf("refs = %v, want %v", got, want)
	}
	ing.Annotations[p+"custom-headers"] = "Not_A_Name"
	ing.Annotations[p+"auth-proxy-set-headers"] = "auth-hdrs"
	ing.Annotations[p+"fastcgi-params-configmap"] = "auth-hdrs"
	if got, want := ConfigMapRefs(ing, ""), []string{"shop/auth-hdrs"}; !slices.Equal(got, want) {
		t.Errorf("refs = %v, want %v (invalid name skipped, duplicates once)", got, want)
	}
	if got := ConfigMapRefs(ing, "example.com"); got != nil {
		t.Errorf("refs under another prefix = %v, want none", got)
	}
}

// TestReferencedConfigMaps: only the ConfigMaps that Ingresses name are
// listed (each by name) and stored; a reference that goes away stops the
// watch and drops the ConfigMap; a new one is stored before the Ingress
// naming it.
func TestReferencedConfigMaps(t *testing.T) {
	p := "nginx.ingress.kubernetes.io/"
	cm := func(ns, name, v string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "1"}, Data: map[string]string{"X-V": v}}
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", ResourceVersion: "1",
		Annotations: map[string]string{p + "custom-headers": "hdrs"}}}
	c := fake.NewClientset(ing, cm("shop", "hdrs", "1"), cm("shop", "unused", "1"), cm("shop", "later", "1"), cm("sys", "moat", "1"))
	var mu sync.Mutex
	var selectors []string
	// The fake ignores field selectors: filter by metadata.name as the
	// API server would, and record what was asked.
	c.PrependReactor("list", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		la := a.(k8stesting.ListActionImpl)
		sel := la.GetListRestrictions().Fields
		mu.Lock()
		selectors = append(selectors, la.GetNamespace()+"?"+sel.String())
		mu.Unlock()
		obj, err := c.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, la.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		l := obj.(*corev1.ConfigMapList)
		out := &corev1.ConfigMapList{ListMeta: l.ListMeta}
		for _, it := range l.Items {
			if sel.Matches(fieldsOf(&it)) {
				out.Items = append(out.Items, it)
			}
		}
		return true, out, nil
	})
	st := store.New()
	src, err := New(Options{Client: c, Store: st, Namespaces: []string{"shop"}, ConfigMaps: []string{"sys/moat"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = src.Run(ctx) }()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := src.WaitForSync(sctx); err != nil {
		t.Fatal(err)
	}
	sn := st.Snapshot()
	if sn.ConfigMaps["shop/hdrs"] == nil || sn.ConfigMaps["sys/moat"] == nil || len(sn.ConfigMaps) != 2 {
		t.Errorf("after sync configmaps = %v, want shop/hdrs and sys/moat only", keys(sn.ConfigMaps))
	}
	mu.Lock()
	for _, s := range selectors {
		if s != "shop?metadata.name=hdrs" && s != "sys?metadata.name=moat" {
			t.Errorf("configmaps listed with %q: only named ConfigMaps may be read", s)
		}
	}
	mu.Unlock()

	// The ConfigMap changes: the store follows.
	// (The fake keeps resourceVersions as given; a relist-like update
	// with the same one is skipped.)
	upd := cm("shop", "hdrs", "2")
	upd.ResourceVersion = "2"
	if _, err := c.CoreV1().ConfigMaps("shop").Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStore(t, st, "hdrs updated", func(sn *store.Snapshot) bool {
		return sn.ConfigMaps["shop/hdrs"] != nil && sn.ConfigMaps["shop/hdrs"].Data["X-V"] == "2"
	})

	// The Ingress names another ConfigMap: when the Ingress shows the new
	// annotation, the new ConfigMap is already there, and the old one goes.
	ing2 := ing.DeepCopy()
	ing2.ResourceVersion = "2"
	ing2.Annotations[p+"custom-headers"] = "later"
	if _, err := c.NetworkingV1().Ingresses("shop").Update(ctx, ing2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStore(t, st, "ingress updated", func(sn *store.Snapshot) bool {
		return len(sn.Ingresses) == 1 && sn.Ingresses[0].Annotations[p+"custom-headers"] == "later"
	})
	if sn := st.Snapshot(); sn.ConfigMaps["shop/later"] == nil {
		t.Error("the Ingress reached the store before the ConfigMap it names")
	}
	waitStore(t, st, "hdrs dropped", func(sn *store.Snapshot) bool { return sn.ConfigMaps["shop/hdrs"] == nil })
	if got := src.refs.watching(); !slices.Equal(got, []string{"shop/later"}) {
		t.Errorf("watching %v, want [shop/later]", got)
	}

	// The ConfigMap is deleted: it leaves the store (translate reports it).
	if err := c.CoreV1().ConfigMaps("shop").Delete(ctx, "later", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStore(t, st, "later deleted", func(sn *store.Snapshot) bool { return sn.ConfigMaps["shop/later"] == nil })

	// The Ingress goes: so does the watch; the controller ConfigMap stays.
	if err := c.NetworkingV1().Ingresses("shop").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStore(t, st, "ingress deleted", func(sn *store.Snapshot) bool { return len(sn.Ingresses) == 0 })
	if got := src.refs.watching(); len(got) != 0 {
		t.Errorf("still watching %v after the Ingress went", got)
	}
	if sn := st.Snapshot(); sn.ConfigMaps["sys/moat"] == nil {
		t.Error("the controller ConfigMap left the store")
	}
}

func fieldsOf(cm *corev1.ConfigMap) fieldSet {
	return fieldSet{"metadata.name": cm.Name, "metadata.namespace": cm.Namespace}
}

type fieldSet map[string]string

func (f fieldSet) Has(k string) bool   { _, ok := f[k]; return ok }
func (f fieldSet) Get(k string) string { return f[k] }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func waitStore(t *testing.T, st *store.Store, what string, ok func(*store.Snapshot) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(st.Snapshot()) {
		if time.Now().After(deadline) {
			sn := st.Snapshot()
			t.Fatalf("%s: not seen within 10s; configmaps %v, ingresses %s", what, keys(sn.ConfigMaps), ingNames(sn))
		}
		select {
		case <-st.Changed():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ingNames(sn *store.Snapshot) string {
	var b strings.Builder
	for _, i := range sn.Ingresses {
		fmt.Fprintf(&b, "%s/%s ", i.Namespace, i.Name)
	}
	return b.String()
}

func TestControllerConfigMapRefs(t *testing.T) {
	got := ControllerConfigMapRefs(map[string]string{
		"proxy-set-headers": " ingress-nginx/custom-headers ",
		"add-headers":       "ingress-nginx/custom-headers",
		"hide-headers":      "other/ignored",
	})
	if len(got) != 1 || got[0] != "ingress-nginx/custom-headers" {
		t.Errorf("refs = %v", got)
	}
	for _, bad := range []string{"no-namespace", "Bad_NS/x", "ns/", "/name"} {
		if got := ControllerConfigMapRefs(map[string]string{"add-headers": bad}); len(got) != 0 {
			t.Errorf("%q: refs = %v", bad, got)
		}
	}
}
