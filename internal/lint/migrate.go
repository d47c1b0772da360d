package lint

import (
	"encoding/json"
	"fmt"
	"io"
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

// Migration is the whole report.
type Migration struct {
	Ingresses []IngressReport `json:"ingresses"`
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
	// NotChecked are Ingresses of other classes (--ingress-class).
	NotChecked int `json:"notChecked"`
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
			continue
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
	m.Summary.Ingresses = len(m.Ingresses)
	if m.Ingresses == nil {
		m.Ingresses = []IngressReport{}
	}
	return m
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
	verdict := map[string]string{VerdictSupported: "fully supported", VerdictWarnings: "works, with warnings", VerdictErrors: "has errors"}
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
	if s.NotChecked > 0 {
		fmt.Fprintf(&b, " (%d of other classes not checked)", s.NotChecked)
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
