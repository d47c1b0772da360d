// Package cluster reads, once, the objects lint checks from a live cluster
// (moat lint --kubeconfig: the migration report). It is apart from lint so that
// checking manifest files needs no Kubernetes client: only this package
// talks to an API server.
package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/moat-ingress/moat/internal/store"
)

// List lists, once, the objects translate reads: Ingresses,
// Services, EndpointSlices, Secrets and ConfigMaps of namespace ("" for
// all of them), every IngressClass, and the ConfigMaps named by
// configMaps ("namespace/name": the controller ConfigMap, the tcp- and
// udp-services ones) that are elsewhere. It is the migration report's
// source: a read-only snapshot, no informers.
func List(ctx context.Context, c kubernetes.Interface, namespace string, configMaps ...string) ([]store.Object, error) {
	var objs []store.Object
	add := func(o runtime.Object) {
		if m, err := metaOf(o); err == nil {
			m.SetManagedFields(nil)
		}
		objs = append(objs, store.Object{Obj: o})
	}
	lo := metav1.ListOptions{}
	ings, err := c.NetworkingV1().Ingresses(namespace).List(ctx, lo)
	if err != nil {
		return nil, listErr("ingresses", namespace, err)
	}
	for i := range ings.Items {
		add(&ings.Items[i])
	}
	// Reading IngressClasses needs cluster scope; without it, classes are
	// matched by name only, which is what most Ingresses use anyway.
	if ics, err := c.NetworkingV1().IngressClasses().List(ctx, lo); err == nil {
		for i := range ics.Items {
			add(&ics.Items[i])
		}
	} else if !apierrors.IsForbidden(err) {
		return nil, listErr("ingressclasses", "", err)
	}
	svcs, err := c.CoreV1().Services(namespace).List(ctx, lo)
	if err != nil {
		return nil, listErr("services", namespace, err)
	}
	for i := range svcs.Items {
		add(&svcs.Items[i])
	}
	eps, err := c.DiscoveryV1().EndpointSlices(namespace).List(ctx, lo)
	if err != nil {
		return nil, listErr("endpointslices", namespace, err)
	}
	for i := range eps.Items {
		add(&eps.Items[i])
	}
	secrets, err := c.CoreV1().Secrets(namespace).List(ctx, lo)
	if err != nil {
		return nil, listErr("secrets", namespace, err)
	}
	for i := range secrets.Items {
		// Only TLS material is read; other Secrets' data stays out of
		// memory longer than the list call.
		s := &secrets.Items[i]
		for k := range s.Data {
			if k != "tls.crt" && k != "tls.key" && k != "ca.crt" && k != "ca.crl" && k != "auth" {
				delete(s.Data, k)
			}
		}
		add(s)
	}
	// ConfigMaps: annotations such as custom-headers name them.
	cms, err := c.CoreV1().ConfigMaps(namespace).List(ctx, lo)
	if err != nil {
		return nil, listErr("configmaps", namespace, err)
	}
	for i := range cms.Items {
		add(&cms.Items[i])
	}
	// The controller ConfigMap and the tcp- and udp-services ones, when
	// in another namespace.
	for _, configMap := range configMaps {
		ns, name, ok := strings.Cut(configMap, "/")
		if !ok || ns == "" || name == "" || namespace == "" || ns == namespace {
			continue
		}
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			add(cm)
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("reading configmap %s: %w", configMap, err)
		}
	}
	// The ConfigMaps the controller ConfigMap's (the first)
	// proxy-set-headers and add-headers name, when they are outside what
	// was listed.
	for _, o := range slices.Clone(objs) {
		cm, ok := o.Obj.(*corev1.ConfigMap)
		if !ok || len(configMaps) == 0 || cm.Namespace+"/"+cm.Name != configMaps[0] {
			continue
		}
		for _, key := range []string{"proxy-set-headers", "add-headers"} {
			ns, name, ok := strings.Cut(strings.TrimSpace(cm.Data[key]), "/")
			if !ok || ns == "" || name == "" || namespace == "" || ns == namespace {
				continue
			}
			ref, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			switch {
			case err == nil:
				add(ref)
			case !apierrors.IsNotFound(err):
				return nil, fmt.Errorf("reading configmap %s/%s (%s): %w", ns, name, key, err)
			}
		}
	}
	return objs, nil
}

func metaOf(o runtime.Object) (metav1.Object, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", o)
	}
	return m, nil
}

func listErr(resource, namespace string, err error) error {
	where := "in all namespaces"
	if namespace != "" {
		where = "in namespace " + namespace
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("listing %s %s is forbidden: the report reads Ingresses, Services, EndpointSlices and Secrets (to check certificates) with your credentials: %w", resource, where, err)
	}
	return fmt.Errorf("listing %s %s: %w", resource, where, err)
}
