package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// writeVolumes writes the pod's Secret and ConfigMap volumes under
// dir/<volume>/ (emptyDir and others become empty folders). A missing
// Secret or ConfigMap that is not optional returns errWait.
func (k *kubelet) writeVolumes(ctx context.Context, pod *corev1.Pod, dir string) error {
	for _, v := range pod.Spec.Volumes {
		vdir := filepath.Join(dir, v.Name)
		var data map[string][]byte
		var items []corev1.KeyToPath
		var optional *bool
		what := ""
		switch {
		case v.Secret != nil:
			what = "Secret " + pod.Namespace + "/" + v.Secret.SecretName
			items, optional = v.Secret.Items, v.Secret.Optional
			s, err := k.cs.CoreV1().Secrets(pod.Namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			if err == nil {
				data = s.Data
			}
		case v.ConfigMap != nil:
			what = "ConfigMap " + pod.Namespace + "/" + v.ConfigMap.Name
			items, optional = v.ConfigMap.Items, v.ConfigMap.Optional
			cm, err := k.cs.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			if err == nil {
				data = map[string][]byte{}
				for key, val := range cm.Data {
					data[key] = []byte(val)
				}
				for key, val := range cm.BinaryData {
					data[key] = val
				}
			}
		}
		if what != "" && data == nil && (optional == nil || !*optional) {
			return fmt.Errorf("pod %s/%s volume %s: %s does not exist yet: %w", pod.Namespace, pod.Name, v.Name, what, errWait)
		}
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return err
		}
		files := map[string][]byte{}
		if len(items) == 0 {
			for key, val := range data {
				files[key] = val
			}
		}
		for _, it := range items {
			val, ok := data[it.Key]
			if !ok {
				if optional != nil && *optional {
					continue
				}
				return fmt.Errorf("pod %s/%s volume %s: %s has no key %q: %w", pod.Namespace, pod.Name, v.Name, what, it.Key, errWait)
			}
			files[it.Path] = val
		}
		for path, val := range files {
			if strings.Contains(path, "..") || filepath.IsAbs(path) {
				return fmt.Errorf("pod %s/%s volume %s: path %q leaves the volume", pod.Namespace, pod.Name, v.Name, path)
			}
			f := filepath.Join(vdir, path)
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(f, val, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// env returns the container's environment as KEY=value. Values under one
// of the container's mountPaths are rewritten onto the volume's folder in
// dir, since the process runs in the shim's mount namespace.
func (k *kubelet) env(ctx context.Context, pod *corev1.Pod, c *corev1.Container, dir, podIP string) ([]string, error) {
	out := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + pod.Name}
	for _, e := range c.Env {
		val := e.Value
		if f := e.ValueFrom; f != nil {
			switch {
			case f.FieldRef != nil:
				var err error
				if val, err = k.field(pod, f.FieldRef.FieldPath, podIP); err != nil {
					return nil, fmt.Errorf("pod %s/%s container %s env %s: %w", pod.Namespace, pod.Name, c.Name, e.Name, err)
				}
			case f.SecretKeyRef != nil:
				s, err := k.cs.CoreV1().Secrets(pod.Namespace).Get(ctx, f.SecretKeyRef.Name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					return nil, fmt.Errorf("pod %s/%s env %s: Secret %s: %w", pod.Namespace, pod.Name, e.Name, f.SecretKeyRef.Name, errWait)
				} else if err != nil {
					return nil, err
				}
				val = string(s.Data[f.SecretKeyRef.Key])
			case f.ConfigMapKeyRef != nil:
				cm, err := k.cs.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, f.ConfigMapKeyRef.Name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					return nil, fmt.Errorf("pod %s/%s env %s: ConfigMap %s: %w", pod.Namespace, pod.Name, e.Name, f.ConfigMapKeyRef.Name, errWait)
				} else if err != nil {
					return nil, err
				}
				val = cm.Data[f.ConfigMapKeyRef.Key]
			default:
				return nil, fmt.Errorf("pod %s/%s container %s env %s: only fieldRef, secretKeyRef and configMapKeyRef are supported", pod.Namespace, pod.Name, c.Name, e.Name)
			}
		}
		for _, m := range c.VolumeMounts {
			mp := strings.TrimSuffix(m.MountPath, "/")
			if val == mp || strings.HasPrefix(val, mp+"/") {
				val = filepath.Join(dir, m.Name, m.SubPath) + strings.TrimPrefix(val, mp)
				break
			}
		}
		out = append(out, e.Name+"="+val)
	}
	return out, nil
}

// field resolves a downward-API fieldRef.
func (k *kubelet) field(pod *corev1.Pod, path, podIP string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	case "status.hostIP", "status.hostIPs":
		return k.cfg.nodeIP.String(), nil
	}
	if l, ok := strings.CutPrefix(path, "metadata.labels['"); ok {
		return pod.Labels[strings.TrimSuffix(l, "']")], nil
	}
	return "", fmt.Errorf("fieldRef %q is not supported by podshim", path)
}
