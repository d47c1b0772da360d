// Package locate points manifest diagnostics at the YAML line of their
// field. It is apart from lint because it is where the files are read as
// YAML nodes (lint's gate uses its Objects to find cert-manager
// Certificates, which are not decoded); the runner and the reports see
// decoded objects and diagnostics only.
package locate

import (
	"bytes"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
)

// Translate's diagnostics carry the line where their object starts; lint
// has the files, so it moves each one to the line of its field
// ("spec.tls[1].secretName" → the "- secretName: router-tls" line), which
// is what an editor should jump to. The decoder's own diagnostics already
// point at fields and are left as they are unless the walk finds better.

// Diagnostics rewrites the line of every diagnostic it can place more
// exactly, from the files' contents by name.
func Diagnostics(ds []diag.Diagnostic, sources map[string][]byte) {
	files := map[string][]Object{}
	for i := range ds {
		d := &ds[i]
		if d.Object.File == "" || d.Object.Name == "" {
			continue
		}
		objs, ok := files[d.Object.File]
		if !ok {
			objs = Objects(sources[d.Object.File])
			files[d.Object.File] = objs
		}
		o := find(objs, d.Object)
		if o == nil {
			continue
		}
		if d.Field == "" {
			if d.Object.Line == 0 {
				d.Object.Line = o.Node.Line
			}
			continue
		}
		field := d.Field
		if o.legacy {
			field = legacyField(field)
		}
		if line := walk(o.Node, field); line > 0 {
			d.Object.Line = line
		}
	}
}

// Object is one manifest object of a file, as a YAML node with file lines.
type Object struct {
	Node                  *yaml.Node
	Kind, Namespace, Name string
	// legacy marks extensions/v1beta1 and networking.k8s.io/v1beta1
	// Ingresses, whose backends use other field names.
	legacy bool
}

// Objects parses a file's documents, each on its own so that one bad
// document does not hide the others, and lists its objects (List items
// included). Unparsable content yields nothing: lines stay as decoded.
func Objects(data []byte) []Object {
	var out []Object
	for _, doc := range splitDocs(data) {
		var n yaml.Node
		if err := yaml.Unmarshal(doc.text, &n); err != nil || len(n.Content) == 0 {
			continue
		}
		shift(&n, doc.firstLine-1)
		collect(n.Content[0], "", &out, 0)
	}
	return out
}

func collect(n *yaml.Node, inheritAPI string, out *[]Object, depth int) {
	if n.Kind != yaml.MappingNode || depth > 4 {
		return
	}
	apiVersion, kind := Scalar(n, "apiVersion"), Scalar(n, "kind")
	if apiVersion == "" {
		apiVersion = inheritAPI
	}
	if items := Child(n, "items"); items != nil && items.Kind == yaml.SequenceNode {
		for _, it := range items.Content {
			collect(it, apiVersion, out, depth+1)
		}
		return
	}
	o := Object{Node: n, Kind: kind, legacy: kind == "Ingress" && apiVersion != "networking.k8s.io/v1"}
	if meta := Child(n, "metadata"); meta != nil {
		o.Name, o.Namespace = Scalar(meta, "name"), Scalar(meta, "namespace")
	}
	*out = append(*out, o)
}

// find picks the object a diagnostic is about: by kind and name, and by
// line when several match (the same name in two namespaces of one file).
func find(objs []Object, ref diag.ObjectRef) *Object {
	var best *Object
	for i := range objs {
		o := &objs[i]
		if o.Kind != "" && ref.Kind != "" && o.Kind != ref.Kind || o.Name != ref.Name {
			continue
		}
		if o.Namespace != "" && ref.Namespace != "" && o.Namespace != ref.Namespace {
			continue
		}
		if o.Namespace == "" && ref.Namespace != "" && ref.Namespace != k8s.DefaultNamespace && ref.Kind != "IngressClass" {
			continue
		}
		if o.Node.Line == ref.Line {
			return o
		}
		if best == nil || o.Node.Line <= ref.Line {
			best = o
		}
	}
	return best
}

// walk follows a field path ("spec.rules[0].http.paths[1].backend",
// "metadata.annotations.nginx.ingress.kubernetes.io/rewrite-target") and
// returns the line of the deepest part found: the key's line for a map
// entry, the item's line for a list index.
func walk(n *yaml.Node, path string) int {
	line := 0
	for path != "" {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch {
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 || n.Kind != yaml.SequenceNode {
				return line
			}
			i, err := strconv.Atoi(path[1:end])
			if err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			n, line = n.Content[i], n.Content[i].Line
			path = strings.TrimPrefix(path[end+1:], ".")
		case n.Kind == yaml.MappingNode:
			// Keys may contain dots (annotation keys, "tls.crt"), so the
			// longest key that the path continues from wins.
			ki := -1
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if (path == k || strings.HasPrefix(path, k+".") || strings.HasPrefix(path, k+"[")) &&
					(ki < 0 || len(k) > len(n.Content[ki].Value)) {
					ki = i
				}
			}
			if ki < 0 {
				return line
			}
			line = n.Content[ki].Line
			path = strings.TrimPrefix(path[len(n.Content[ki].Value):], ".")
			n = n.Content[ki+1]
		default:
			return line
		}
	}
	return line
}

// legacyField maps a networking.k8s.io/v1 field path to the field names of
// the legacy Ingress the file holds (translate sees the converted Object).
func legacyField(f string) string {
	f = strings.Replace(f, "spec.defaultBackend", "spec.backend", 1)
	f = strings.Replace(f, "backend.service.name", "backend.serviceName", 1)
	f = strings.Replace(f, "backend.service.port", "backend.servicePort", 1)
	return strings.TrimSuffix(f, ".service")
}

// Child is the value of key in mapping n, or nil.
func Child(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Scalar is the scalar value of key in mapping n, or "".
func Scalar(n *yaml.Node, key string) string {
	if c := Child(n, key); c != nil && c.Kind == yaml.ScalarNode {
		return c.Value
	}
	return ""
}

func shift(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shift(c, by)
	}
}

// doc is one YAML document of a file and the file line it starts on.
type doc struct {
	text      []byte
	firstLine int
}

// splitDocs splits at "---" and "..." marker lines (column 0, YAML 1.2
// §9.1), blanking the marker so that line numbers stay exact.
func splitDocs(data []byte) []doc {
	var out []doc
	lines := bytes.SplitAfter(data, []byte("\n"))
	cur := doc{firstLine: 1}
	var buf bytes.Buffer
	for i, l := range lines {
		if isMarker(l) {
			out = append(out, doc{text: bytes.Clone(buf.Bytes()), firstLine: cur.firstLine})
			buf.Reset()
			cur = doc{firstLine: i + 1}
			l = append([]byte("   "), l[3:]...)
		}
		buf.Write(l)
	}
	return append(out, doc{text: buf.Bytes(), firstLine: cur.firstLine})
}

func isMarker(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) && !bytes.HasPrefix(l, []byte("...")) {
		return false
	}
	rest := l[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n'
}
