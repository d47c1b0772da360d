package k8s

import (
	"bytes"
	"strings"
)

// document is one YAML document of a file, kept verbatim so that line
// numbers in parser errors map straight back to file lines.
type document struct {
	text []byte
	// firstLine is the file line (1-based) of text's first line.
	firstLine int
	// line is the file line of the first content line; 0 means the
	// document holds only blanks, comments and directives.
	line int
	// last is the file line of the last content line.
	last int
}

// fileLine converts a 1-based line inside the document to a file line.
func (d document) fileLine(n int) int { return d.firstLine + n - 1 }

// splitYAML splits a multi-document YAML stream at "---" and "..." marker
// lines. A marker line stays in the following document with the marker
// blanked out, so content after it ("--- {a: 1}", "--- # note") is kept
// and the line count stays exact. Markers can only appear at column 0
// outside block scalars (YAML 1.2 §9.1), so a line scan is sound.
func splitYAML(data []byte) []document {
	var docs []document
	cur := document{firstLine: 1}
	var buf bytes.Buffer
	flush := func() {
		cur.text = append([]byte(nil), buf.Bytes()...)
		docs = append(docs, cur)
		buf.Reset()
	}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line := string(raw)
		if marker(line) {
			flush()
			cur = document{firstLine: n}
			line = "   " + line[3:]
		}
		if i > 0 && n != cur.firstLine {
			buf.WriteByte('\n')
		}
		buf.WriteString(line)
		if isContent(line) {
			if cur.line == 0 {
				cur.line = n
			}
			cur.last = n
		}
	}
	flush()
	return docs
}

// marker reports whether a line is a document start ("---") or end ("...")
// marker: the three characters followed by nothing or whitespace.
func marker(line string) bool {
	if !strings.HasPrefix(line, "---") && !strings.HasPrefix(line, "...") {
		return false
	}
	rest := line[3:]
	return rest == "" || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r'
}

// isContent reports whether a line carries YAML content, as opposed to
// blanks, comments and directives.
func isContent(line string) bool {
	t := strings.TrimSpace(line)
	return t != "" && t[0] != '#' && t[0] != '%'
}

// listItemLines returns the file line of each item of a block-style
// top-level "items:" sequence, in order. It returns nil when the items are
// not in block style (flow style, JSON); callers then fall back to the
// document's line. This is a line scan rather than a YAML parse because
// sigs.k8s.io/yaml does not expose node positions.
func listItemLines(d document) []int {
	var out []int
	in, col := false, -1
	for i, raw := range strings.Split(string(d.text), "\n") {
		s := strings.TrimRight(raw, "\r")
		t := strings.TrimLeft(s, " ")
		if t == "" || t[0] == '#' {
			continue
		}
		ind := len(s) - len(t)
		if !in {
			if ind == 0 && strings.HasPrefix(t, "items:") {
				rest := strings.TrimSpace(t[len("items:"):])
				in = rest == "" || rest[0] == '#'
			}
			continue
		}
		dash := t[0] == '-' && (len(t) == 1 || t[1] == ' ' || t[1] == '\t' || t[1] == '\r')
		if col < 0 {
			if !dash {
				return nil
			}
			col = ind
		}
		if ind < col || (ind == col && !dash) {
			break
		}
		if ind == col {
			out = append(out, d.fileLine(i+1))
		}
	}
	return out
}
