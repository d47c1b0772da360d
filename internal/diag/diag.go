// Package diag holds the one diagnostic type shared by lint, logs, Kubernetes
// Events and metrics.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Severity orders diagnostics from informational to blocking.
type Severity int

const (
	// Info is advice; nothing is wrong with what is served.
	Info Severity = iota
	// Warning means something is served differently from what the user wrote.
	Warning
	// Error means an object or part of one is left out.
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText lets JSON output carry the readable name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Origin is where an object was read from; empty in cluster mode.
type Origin struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (o Origin) String() string {
	if o.File == "" {
		return ""
	}
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return o.File
}

// ObjectRef names the object a diagnostic is about.
type ObjectRef struct {
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Origin
}

func (r ObjectRef) String() string {
	var b strings.Builder
	if r.Kind != "" {
		b.WriteString(strings.ToLower(r.Kind))
		b.WriteByte(' ')
	}
	if r.Namespace != "" {
		b.WriteString(r.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(r.Name)
	return strings.TrimSpace(b.String())
}

// Diagnostic is one finding about the user's input.
type Diagnostic struct {
	Object   ObjectRef `json:"object"`
	Severity Severity  `json:"severity"`
	// Reason is a stable CamelCase code, e.g. "TLSSecretNotFound".
	Reason string `json:"reason"`
	// Field is the JSON path of the offending field, e.g. "spec.tls[0].secretName".
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// String renders "file:line: ingress ns/name: spec.tls[0]: message (Reason)".
func (d Diagnostic) String() string {
	var b strings.Builder
	if o := d.Object.Origin.String(); o != "" {
		b.WriteString(o)
		b.WriteString(": ")
	}
	if r := d.Object.String(); r != "" {
		b.WriteString(r)
		b.WriteString(": ")
	}
	if d.Field != "" {
		b.WriteString(d.Field)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	if d.Reason != "" {
		b.WriteString(" (")
		b.WriteString(d.Reason)
		b.WriteString(")")
	}
	return b.String()
}

// Sort orders diagnostics deterministically: by file, line, object, field, reason.
func Sort(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Object.File != b.Object.File {
			return a.Object.File < b.Object.File
		}
		if a.Object.Line != b.Object.Line {
			return a.Object.Line < b.Object.Line
		}
		if a.Object.String() != b.Object.String() {
			return a.Object.String() < b.Object.String()
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Reason < b.Reason
	})
}

// AtLeast reports whether any diagnostic is at least sev.
func AtLeast(ds []Diagnostic, sev Severity) bool {
	for _, d := range ds {
		if d.Severity >= sev {
			return true
		}
	}
	return false
}
