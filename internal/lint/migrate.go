package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/registry"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
)

// The migration report answers, per Ingress of a live cluster, "will this
// work on moat?": the annotations moat does not support or supports only
// partly, the usual diagnostics, and a verdict.

// Verdicts of an Ingress.
const (
	VerdictSupported = "supported"
	VerdictWarnings  = "warnings"
	VerdictErrors    = "errors"
	// VerdictNotServed: moat, run with the class checked, leaves the
	// Ingress alone (another class, or none).
	VerdictNotServed = "not-served"
)

// AnnotationNote is one annotation moat does not fully apply.
type AnnotationNote struct {
	Key string `json:"key"`
	// Support is "refused" (not applied), "partial" or "unknown".
	Support string `json:"support"`
	Doc     string `json:"doc,omitempty"`
}

// IngressReport is one Ingress's part of the report.
type IngressReport struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Class       string            `json:"class"`
	Verdict     string            `json:"verdict"`
	Annotations []AnnotationNote  `json:"annotations"`
	Diagnostics []diag.Diagnostic `json:"diagnostics"`
}

// ConfigMapReport is the controller ConfigMap's part of the report: the
// keys moat ignores or reads otherwise than ingress-nginx's value says.
type ConfigMapReport struct {
	// Name is "namespace/name" (--configmap); Found is whether it exists.
	Name  string `json:"name"`
	Found bool   `json:"found"`
	// Keys counts the keys set; Notes lists those not applied as written.
	Keys  int             `json:"keys"`
	Notes []ConfigMapNote `json:"notes"`
}

// ConfigMapNote is one controller ConfigMap key moat does not apply as
// written.
type ConfigMapNote struct {
	Key string `json:"key"`
	// Support is "unknown" (not supported, ignored), "refused" (a
	// documented key moat does not apply, with the reason), "invalid" (the
	// default is used) or "capped" (applied within moat's bounds).
	Support string `json:"support"`
	Message string `json:"message"`
}

// Migration is the whole report.
type Migration struct {
	Ingresses []IngressReport `json:"ingresses"`
	// ConfigMap is set when --configmap names the controller ConfigMap.
	ConfigMap *ConfigMapReport `json:"configMap,omitempty"`
	// Other are diagnostics about other objects (Secrets, Services, the
	// controller ConfigMap) and Ingresses of classes not checked.
	Other []diag.Diagnostic `json:"other"`
	// CertificateHealth holds every certificate finding (health.go);
	// they are in neither Ingresses nor Other.
	CertificateHealth CertificateHealth `json:"certificateHealth"`
	Summary           MigrationSummary  `json:"summary"`
}

// MigrationSummary counts Ingresses by verdict.
type MigrationSummary struct {
	Ingresses    int `json:"ingresses"`
	Supported    int `json:"supported"`
	WithWarnings int `json:"withWarnings"`
	WithErrors   int `json:"withErrors"`
	// NotChecked are Ingresses of other classes (--ingress-class), whose
	// content is not checked.
	NotChecked int `json:"notChecked"`
	// NotServed are Ingresses that moat, run with the class checked,
	// leaves unserved (listed with verdict not-served).
	NotServed int `json:"notServed"`
}

// Migration groups the result by Ingress. prefix is the annotation prefix
// ("" for nginx.ingress.kubernetes.io).
func (r *Result) Migration(prefix string) *Migration {
	if prefix == "" {
		prefix = annotations.DefaultPrefix
	}
	known := registry.Known()
	m := &Migration{}
	byIng := map[string]*IngressReport{}
	for _, ing := range r.snapshot.Ingresses {
		nn := ing.Namespace + "/" + ing.Name
		class, ok := r.claimed[nn]
		if !ok {
			m.Summary.NotChecked++
			class = className(ing)
		}
		rep := IngressReport{Namespace: ing.Namespace, Name: ing.Name, Class: class, Annotations: []AnnotationNote{}, Diagnostics: []diag.Diagnostic{}}
		for _, k := range sortedKeys(ing.Annotations) {
			name, ok := strings.CutPrefix(k, prefix+"/")
			if !ok {
				continue
			}
			key, found := known[name]
			switch {
			case !found:
				rep.Annotations = append(rep.Annotations, AnnotationNote{Key: k, Support: "unknown", Doc: "not an ingress-nginx annotation; ignored"})
			case key.Status == annotations.Refused:
				rep.Annotations = append(rep.Annotations, AnnotationNote{Key: k, Support: string(annotations.Refused), Doc: key.Doc})
			case key.Status == annotations.Partial:
				rep.Annotations = append(rep.Annotations, AnnotationNote{Key: k, Support: string(annotations.Partial), Doc: key.Doc})
			}
		}
		m.Ingresses = append(m.Ingresses, rep)
	}
	for i := range m.Ingresses {
		byIng[m.Ingresses[i].Namespace+"/"+m.Ingresses[i].Name] = &m.Ingresses[i]
	}
	m.CertificateHealth = CertificateHealth{TLSSecrets: r.tlsSecrets(), Findings: []diag.Diagnostic{}}
	// An Ingress's certificate findings still decide its verdict.
	healthOf := map[*IngressReport][]diag.Diagnostic{}
	for _, d := range r.Diagnostics {
		var rep *IngressReport
		if d.Object.Kind == store.KindIngress {
			rep = byIng[d.Object.Namespace+"/"+d.Object.Name]
		}
		switch {
		case IsCertificateHealth(d):
			m.CertificateHealth.Findings = append(m.CertificateHealth.Findings, d)
			if rep != nil {
				healthOf[rep] = append(healthOf[rep], d)
			}
		case rep != nil:
			rep.Diagnostics = append(rep.Diagnostics, d)
		default:
			m.Other = append(m.Other, d)
		}
	}
	if m.Other == nil {
		m.Other = []diag.Diagnostic{}
	}
	for i := range m.Ingresses {
		rep := &m.Ingresses[i]
		switch {
		case slices.ContainsFunc(rep.Diagnostics, func(d diag.Diagnostic) bool {
			return d.Reason == ReasonIngressNotServed || d.Reason == ReasonIngressClassUnclaimed
		}):
			rep.Verdict = VerdictNotServed
			m.Summary.NotServed++
		case diag.AtLeast(rep.Diagnostics, diag.Error) || diag.AtLeast(healthOf[rep], diag.Error):
			rep.Verdict = VerdictErrors
			m.Summary.WithErrors++
		case diag.AtLeast(rep.Diagnostics, diag.Warning) || diag.AtLeast(healthOf[rep], diag.Warning) || len(rep.Annotations) > 0:
			rep.Verdict = VerdictWarnings
			m.Summary.WithWarnings++
		default:
			rep.Verdict = VerdictSupported
			m.Summary.Supported++
		}
	}
	m.Summary.Ingresses = len(m.Ingresses) - m.Summary.NotServed
	m.ConfigMap = r.configMapReport()
	if m.Ingresses == nil {
		m.Ingresses = []IngressReport{}
	}
	return m
}

// configMapReport sorts the controller ConfigMap's diagnostics (taken out
// of Other by the caller's order: they stay there too) into key notes.
func (r *Result) configMapReport() *ConfigMapReport {
	name := r.configMap
	if name == "" {
		return nil
	}
	rep := &ConfigMapReport{Name: name, Notes: []ConfigMapNote{}}
	cm, ok := r.snapshot.ConfigMaps[name]
	if !ok {
		return rep
	}
	rep.Found, rep.Keys = true, len(cm.Data)
	support := map[string]string{"ConfigMapKeyUnknown": "unknown", "ConfigMapKeyRefused": "refused", "ConfigMapInvalidValue": "invalid", "ConfigMapValueCapped": "capped"}
	for _, d := range r.Diagnostics {
		key, ok := strings.CutPrefix(d.Field, "data.")
		if d.Object.Kind != store.KindConfigMap || d.Object.Namespace+"/"+d.Object.Name != name || !ok || support[d.Reason] == "" {
			continue
		}
		msg := d.Message
		if d.Hint != "" {
			msg += " (" + d.Hint + ")"
		}
		rep.Notes = append(rep.Notes, ConfigMapNote{Key: key, Support: support[d.Reason], Message: msg})
	}
	sort.SliceStable(rep.Notes, func(i, j int) bool { return rep.Notes[i].Key < rep.Notes[j].Key })
	return rep
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteMigrationText prints the report: one block per Ingress, then other
// findings, then the summary.
func WriteMigrationText(w io.Writer, m *Migration) error {
	var b strings.Builder
	verdict := map[string]string{VerdictSupported: "fully supported", VerdictWarnings: "works, with warnings", VerdictErrors: "has errors",
		VerdictNotServed: "not served by moat"}
	for _, rep := range m.Ingresses {
		fmt.Fprintf(&b, "ingress %s/%s (class %s): %s\n", rep.Namespace, rep.Name, rep.Class, verdict[rep.Verdict])
		for _, a := range rep.Annotations {
			what := map[string]string{"refused": "not supported", "partial": "partly supported", "unknown": "unknown"}[a.Support]
			fmt.Fprintf(&b, "  annotation %s: %s", a.Key, what)
			if a.Doc != "" {
				fmt.Fprintf(&b, ": %s", a.Doc)
			}
			b.WriteString("\n")
		}
		for _, d := range rep.Diagnostics {
			if d.Reason == "AnnotationRefused" {
				continue // the annotation lines above say it
			}
			writeClusterDiag(&b, "  ", d, false)
		}
		b.WriteString("\n")
	}
	if cm := m.ConfigMap; cm != nil {
		switch {
		case !cm.Found:
			fmt.Fprintf(&b, "controller configmap %s: not found\n", cm.Name)
		case len(cm.Notes) == 0:
			fmt.Fprintf(&b, "controller configmap %s: %s, all applied\n", cm.Name, plural(cm.Keys, "key"))
		default:
			fmt.Fprintf(&b, "controller configmap %s: %s, %d not applied as written\n", cm.Name, plural(cm.Keys, "key"), len(cm.Notes))
			what := map[string]string{"unknown": "not supported", "refused": "refused", "invalid": "invalid", "capped": "capped"}
			for _, n := range cm.Notes {
				fmt.Fprintf(&b, "  key %s: %s: %s\n", n.Key, what[n.Support], n.Message)
			}
		}
		b.WriteString("\n")
	}
	writeHealth(&b, m.CertificateHealth)
	if len(m.Other) > 0 {
		b.WriteString("other objects:\n")
		for _, d := range m.Other {
			writeClusterDiag(&b, "  ", d, true)
		}
		b.WriteString("\n")
	}
	s := m.Summary
	fmt.Fprintf(&b, "%s: %d fully supported, %d with warnings, %d with errors", plural(s.Ingresses, "Ingress"), s.Supported, s.WithWarnings, s.WithErrors)
	if s.NotServed > 0 {
		fmt.Fprintf(&b, "; %d not served by moat", s.NotServed)
	}
	if s.NotChecked > 0 {
		fmt.Fprintf(&b, " (%d of other classes, not checked)", s.NotChecked)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeClusterDiag(b *strings.Builder, indent string, d diag.Diagnostic, withObject bool) {
	fmt.Fprintf(b, "%s%s %s", indent, d.Severity, d.Reason)
	var about []string
	if withObject && d.Object.String() != "" {
		about = append(about, d.Object.String())
	}
	if d.Field != "" {
		about = append(about, d.Field)
	}
	if len(about) > 0 {
		fmt.Fprintf(b, " (%s)", strings.Join(about, ", "))
	}
	fmt.Fprintf(b, ": %s\n", d.Message)
	if d.Hint != "" {
		writeIndented(b, indent+"  hint: ", d.Hint)
	}
}

// WriteMigrationJSON prints the report as one JSON document.
func WriteMigrationJSON(w io.Writer, m *Migration) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(m)
}
