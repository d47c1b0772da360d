package lint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
)

// maxExcerpt bounds the quoted source line: Secret data lines run to
// kilobytes of base64.
const maxExcerpt = 100

// WriteText prints the diagnostics for people, sorted by file and line,
// each as "file:line: severity Code (object, field)" followed by the
// message, the offending source line and the hint, then a summary.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	for _, d := range r.Diagnostics {
		loc, obj := d.Object.Origin.String(), d.Object.String()
		if loc == "" {
			// Objects from a flag or a cluster have no file.
			loc, obj = obj, ""
		}
		if loc == "" {
			loc = "moat"
		}
		fmt.Fprintf(&b, "%s: %s %s", loc, d.Severity, d.Reason)
		var about []string
		if obj != "" {
			about = append(about, obj)
		}
		if d.Field != "" {
			about = append(about, d.Field)
		}
		if len(about) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(about, ", "))
		}
		b.WriteString("\n")
		writeIndented(&b, "    ", d.Message)
		if src := r.line(d.Object.File, d.Object.Line); src != "" && !secretValue(d) {
			fmt.Fprintf(&b, "    %4d | %s\n", d.Object.Line, src)
		}
		if d.Hint != "" {
			writeIndented(&b, "    hint: ", d.Hint)
		}
		b.WriteString("\n")
	}
	b.WriteString(r.Summary())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeIndented(b *strings.Builder, first, text string) {
	pad := strings.Repeat(" ", len(first))
	for i, l := range strings.Split(text, "\n") {
		if i == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(pad)
		}
		b.WriteString(l)
		b.WriteString("\n")
	}
}

// secretValue reports a diagnostic about a Secret's value: its line is
// not quoted, since it may hold key material (PlainPrivateKey).
func secretValue(d diag.Diagnostic) bool {
	return d.Object.Kind == store.KindSecret && (strings.HasPrefix(d.Field, "data.") || strings.HasPrefix(d.Field, "stringData."))
}

// line returns a file's line n, shortened, or "".
func (r *Result) line(file string, n int) string {
	data, ok := r.sources[file]
	if !ok || n <= 0 {
		return ""
	}
	lines := bytes.Split(data, []byte("\n"))
	if n > len(lines) {
		return ""
	}
	l := strings.TrimRight(string(lines[n-1]), "\r")
	if len(l) > maxExcerpt {
		l = l[:maxExcerpt] + "..."
	}
	if strings.TrimSpace(l) == "" {
		return ""
	}
	return l
}

// Summary is the closing line: what was read and what was found.
func (r *Result) Summary() string {
	read := fmt.Sprintf("%s, %s", plural(len(r.Files), "file"), plural(r.Objects, "object"))
	if len(r.Classes) > 0 {
		read += ", ingress class " + strings.Join(r.Classes, ", ")
	}
	if len(r.Diagnostics) == 0 {
		return "no problems found (" + read + ")"
	}
	return fmt.Sprintf("%s, %s, %s (%s)", plural(r.Count(diag.Error), "error"), plural(r.Count(diag.Warning), "warning"),
		fmt.Sprintf("%d info", r.Count(diag.Info)), read)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// jsonReport is the -o json document. Diagnostics keep diag.Diagnostic's
// JSON form; the summary counts them.
type jsonReport struct {
	Diagnostics []diag.Diagnostic `json:"diagnostics"`
	Files       []string          `json:"files"`
	Classes     []string          `json:"classes"`
	Summary     jsonSummary       `json:"summary"`
}

type jsonSummary struct {
	Files    int `json:"files"`
	Objects  int `json:"objects"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Info     int `json:"info"`
}

// WriteJSON prints the result as one JSON document.
func WriteJSON(w io.Writer, r *Result) error {
	rep := jsonReport{
		Diagnostics: r.Diagnostics,
		Files:       r.Files,
		Classes:     r.Classes,
		Summary: jsonSummary{Files: len(r.Files), Objects: r.Objects,
			Errors: r.Count(diag.Error), Warnings: r.Count(diag.Warning), Info: r.Count(diag.Info)},
	}
	if rep.Diagnostics == nil {
		rep.Diagnostics = []diag.Diagnostic{}
	}
	if rep.Files == nil {
		rep.Files = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}
