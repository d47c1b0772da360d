// Package chart renders and lints charts/moat with Helm's Go SDK, as `helm
// template` and `helm lint` do, for this package's tests and test/cluster's
// server-side dry run. moat itself never links Helm.
package chart

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chartloader "helm.sh/helm/v4/pkg/chart/v2/loader"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"sigs.k8s.io/yaml"
)

// Dir is charts/moat in this checkout.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "moat")
}

// KubeVersion is the cluster version the templates see.
var KubeVersion = common.KubeVersion{Version: "v1.37.2", Major: "1", Minor: "37"}

// Render renders the chart as `helm template RELEASE charts/moat -n NS -f
// values` would (client only, schema validated) and returns the manifest.
func Render(release, namespace string, values map[string]any) (string, error) {
	ch, err := chartloader.Load(Dir())
	if err != nil {
		return "", err
	}
	inst := action.NewInstall(action.NewConfiguration())
	inst.DryRunStrategy = action.DryRunClient
	inst.ReleaseName = release
	inst.Namespace = namespace
	inst.Replace = true
	// Helm's client-only default is v1.20; render for the API server the
	// project builds (hack/kube/build.sh), as --kube-version does.
	inst.KubeVersion = &KubeVersion
	// The ServiceMonitor and PrometheusRule kinds are CRDs; a client-only
	// render has no cluster to ask, so they are declared available.
	inst.APIVersions = common.VersionSet{"monitoring.coreos.com/v1"}
	if values == nil {
		values = map[string]any{}
	}
	rel, err := inst.RunWithContext(context.Background(), ch, values)
	if err != nil {
		return "", err
	}
	r, ok := rel.(*releasev1.Release)
	if !ok {
		return "", fmt.Errorf("helm returned a %T, not a v1 release", rel)
	}
	return r.Manifest, nil
}

// Lint runs `helm lint --strict` on the chart with values and returns every
// message at warning level or above.
func Lint(namespace string, values map[string]any) []string {
	l := action.NewLint()
	l.Strict = true
	l.Namespace = namespace
	l.KubeVersion = &KubeVersion
	res := l.Run([]string{Dir()}, values)
	var out []string
	for _, e := range res.Errors {
		out = append(out, e.Error())
	}
	return out
}

// Values parses a values file's text.
func Values(text string) (map[string]any, error) {
	var v map[string]any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Object is one rendered document.
type Object struct {
	Kind, Name, Namespace string
	// Doc is the document decoded into generic maps, for the tests to
	// convert into typed objects.
	Doc map[string]any
	// Text is the YAML as rendered.
	Text string
}

// Split decodes a rendered manifest into its documents.
func Split(manifest string) ([]Object, error) {
	var objs []Object
	for _, doc := range strings.Split(manifest, "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("%w in:\n%s", err, doc)
		}
		if m == nil {
			continue
		}
		md, _ := m["metadata"].(map[string]any)
		o := Object{Doc: m, Text: doc}
		o.Kind, _ = m["kind"].(string)
		o.Name, _ = md["name"].(string)
		o.Namespace, _ = md["namespace"].(string)
		objs = append(objs, o)
	}
	return objs, nil
}
