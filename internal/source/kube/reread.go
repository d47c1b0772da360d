package kube

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reread fetches the watched ConfigMaps (the controller ConfigMap) from
// the API server and hands them to the store, as a SIGHUP asks: the
// informers already keep every kind current, so this only shortens the
// wait for a ConfigMap change the watch has not delivered yet. A
// ConfigMap that is gone is left to the informer, which reports deletes.
func (s *Source) Reread(ctx context.Context) {
	for _, nn := range s.opts.ConfigMaps {
		ns, name, _ := strings.Cut(nn, "/")
		cm, err := s.opts.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			s.log.Info("re-read: ConfigMap not found", "configmap", nn)
			continue
		case err != nil:
			s.log.Warn("re-read: ConfigMap not read; the informer's copy stays", "configmap", nn, "err", err)
			continue
		}
		obj, err := Strip(cm)
		if err != nil {
			continue
		}
		s.upsert(obj)
		s.log.Info("re-read: ConfigMap read", "configmap", nn, "resourceVersion", cm.ResourceVersion)
	}
}
