// Package convert is `moat convert`: it rewrites legacy Ingresses
// (extensions/v1beta1, networking.k8s.io/v1beta1) and IngressClasses as
// networking.k8s.io/v1, the way `kubectl convert` did before it was
// removed, and passes every other document through byte for byte.
//
// It works on YAML nodes rather than typed objects so that key order and
// comments survive, and it only makes changes that keep ingress-nginx's
// behaviour: what each path matches, which backend it reaches. Mistakes that
// need a decision (a tls list split in two, a placeholder host) are left
// for `moat lint` to report.
package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Options change what is converted beyond the API version.
type Options struct {
	// MoveClassAnnotation moves kubernetes.io/ingress.class to
	// spec.ingressClassName (when the spec names no class). Off by default:
	// controllers older than ingress-nginx 1.0 read only the annotation.
	MoveClassAnnotation bool
}

// Change is one converted object.
type Change struct {
	Kind, Name string
	// Line is the object's first line in the input.
	Line int
	From string
	// Notes describe the edits beyond renaming fields.
	Notes []string
}

func (c Change) String() string {
	s := fmt.Sprintf("%s %s (line %d): %s -> networking.k8s.io/v1", strings.ToLower(c.Kind), c.Name, c.Line, c.From)
	if len(c.Notes) > 0 {
		s += "; " + strings.Join(c.Notes, "; ")
	}
	return s
}

const (
	v1               = "networking.k8s.io/v1"
	classAnnotation  = "kubernetes.io/ingress.class"
	legacyExtensions = "extensions/v1beta1"
	legacyNetworking = "networking.k8s.io/v1beta1"
	pathTypePrefix   = "Prefix"
	pathTypeImplSpec = "ImplementationSpecific"
	ingressKind      = "Ingress"
	ingressClassKind = "IngressClass"
	ingressListKind  = "IngressList"
	maxListNesting   = 4
	yamlIndent       = 2
	jsonIndent       = "  "
)

func isLegacy(apiVersion string) bool {
	return apiVersion == legacyExtensions || apiVersion == legacyNetworking
}

// File converts one file's content. Documents without anything to convert
// are returned exactly as they were; converted ones are re-encoded (YAML,
// or JSON for JSON input) with their comments.
func File(data []byte, opts Options) ([]byte, []Change, error) {
	var out bytes.Buffer
	var changes []Change
	for _, d := range splitDocs(data) {
		var root yaml.Node
		if err := yaml.Unmarshal(d.body, &root); err != nil || len(root.Content) == 0 {
			// Not ours to fix: lint reports parse errors.
			out.Write(d.raw)
			continue
		}
		shift(&root, d.firstLine-1)
		var cs []Change
		convertObject(root.Content[0], "", "", opts, &cs, 0)
		if len(cs) == 0 {
			out.Write(d.raw)
			continue
		}
		changes = append(changes, cs...)
		if d.marker {
			// Anything after "---" on the marker line is in the node now.
			out.WriteString("---\n")
		}
		enc, err := encode(&root, looksLikeJSON(d.body))
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", d.firstLine, err)
		}
		out.Write(enc)
	}
	return out.Bytes(), changes, nil
}

func encode(root *yaml.Node, asJSON bool) ([]byte, error) {
	if asJSON {
		var b bytes.Buffer
		if err := writeJSON(&b, root.Content[0], ""); err != nil {
			return nil, err
		}
		b.WriteByte('\n')
		return b.Bytes(), nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(yamlIndent)
	// kubectl and most Kubernetes manifests write "- " at the parent
	// key's indentation.
	enc.CompactSeqIndent()
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// convertObject converts n if it is a legacy Ingress or IngressClass, or a
// List holding some.
func convertObject(n *yaml.Node, inheritAPI, inheritKind string, opts Options, changes *[]Change, depth int) {
	if n.Kind != yaml.MappingNode || depth > maxListNesting {
		return
	}
	apiNode := child(n, "apiVersion")
	apiVersion := inheritAPI
	if apiNode != nil {
		apiVersion = apiNode.Value
	}
	kind := scalar(n, "kind")
	if kind == "" {
		kind = inheritKind
	}
	if items := child(n, "items"); items != nil && items.Kind == yaml.SequenceNode {
		itemAPI, itemKind := "", ""
		if kind == ingressListKind {
			// Items of a typed list may omit apiVersion and kind.
			itemAPI, itemKind = apiVersion, ingressKind
		}
		before := len(*changes)
		for _, it := range items.Content {
			convertObject(it, itemAPI, itemKind, opts, changes, depth+1)
		}
		if kind == ingressListKind && isLegacy(apiVersion) && apiNode != nil && len(*changes) > before {
			apiNode.Value = v1
		}
		return
	}
	if !isLegacy(apiVersion) || (kind != ingressKind && kind != ingressClassKind) {
		return
	}
	ch := Change{Kind: kind, Line: n.Line, From: apiVersion}
	if meta := child(n, "metadata"); meta != nil {
		ch.Name = scalar(meta, "name")
	}
	if apiNode != nil {
		apiNode.Value = v1
	} // else a List item inheriting the List's apiVersion, converted with it
	if kind == ingressKind {
		convertIngress(n, opts, &ch)
	}
	*changes = append(*changes, ch)
}

func convertIngress(n *yaml.Node, opts Options, ch *Change) {
	spec := child(n, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return
	}
	if k, v := entry(spec, "backend"); k != nil {
		k.Value = "defaultBackend"
		convertBackend(v, "spec.defaultBackend", ch)
	}
	if rules := child(spec, "rules"); rules != nil && rules.Kind == yaml.SequenceNode {
		for i, r := range rules.Content {
			paths := child(child(r, "http"), "paths")
			if paths == nil || paths.Kind != yaml.SequenceNode {
				continue
			}
			for j, p := range paths.Content {
				if p.Kind != yaml.MappingNode {
					continue
				}
				field := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
				convertBackend(child(p, "backend"), field+".backend", ch)
				choosePathType(p, field, ch)
			}
		}
	}
	if opts.MoveClassAnnotation {
		moveClassAnnotation(n, spec, ch)
	}
}

// choosePathType sets the pathType the API server gave legacy paths
// (ImplementationSpecific), which is exactly the prefix match
// ingress-nginx applies to them. Only "/" becomes Prefix: there both match
// every request, and Prefix is portable across controllers; elsewhere
// Prefix would stop "/api" from matching "/apis", so it would change
// routing.
func choosePathType(p *yaml.Node, field string, ch *Change) {
	if child(p, "pathType") != nil {
		return
	}
	path := scalar(p, "path")
	typ := pathTypeImplSpec
	if path == "/" {
		typ = pathTypePrefix
	}
	// Insert after path (or first), where people look for it.
	at := 0
	for i := 0; i+1 < len(p.Content); i += 2 {
		if p.Content[i].Value == "path" {
			at = i + 2
		}
	}
	k, v := str("pathType"), str(typ)
	p.Content = append(p.Content[:at], append([]*yaml.Node{k, v}, p.Content[at:]...)...)
	if typ == pathTypeImplSpec {
		ch.Notes = append(ch.Notes, fmt.Sprintf("%s: pathType ImplementationSpecific (ingress-nginx's prefix match for %q, unchanged)", field, path))
	}
}

// convertBackend rewrites serviceName/servicePort as service.name and
// service.port.number (or .name), in place of serviceName so that the key
// order and the comments attached to it stay.
func convertBackend(b *yaml.Node, field string, ch *Change) {
	if b == nil || b.Kind != yaml.MappingNode {
		return
	}
	nameK, nameV := entry(b, "serviceName")
	portK, portV := entry(b, "servicePort")
	if nameK == nil && portK == nil {
		return
	}
	svc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if nameV != nil {
		svc.Content = append(svc.Content, str("name"), nameV)
	}
	if portV != nil {
		port := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		val := portV
		key := "name"
		if portV.Kind == yaml.ScalarNode {
			if n, err := strconv.ParseInt(portV.Value, 10, 32); err == nil {
				key = "number"
				if portV.Tag != "!!int" {
					// A quoted "80" would be a port name that cannot exist.
					ch.Notes = append(ch.Notes, fmt.Sprintf("%s.servicePort: quoted %q written as port number %d", field, portV.Value, n))
					val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(n, 10),
						LineComment: portV.LineComment, HeadComment: portV.HeadComment, FootComment: portV.FootComment}
				}
			}
		}
		port.Content = append(port.Content, str(key), val)
		svc.Content = append(svc.Content, str("port"), port)
	}
	svcKey := str("service")
	first := nameK
	if first == nil {
		first = portK
	}
	svcKey.HeadComment, svcKey.LineComment, svcKey.FootComment = first.HeadComment, first.LineComment, first.FootComment
	var content []*yaml.Node
	for i := 0; i+1 < len(b.Content); i += 2 {
		k := b.Content[i]
		switch {
		case k == first:
			content = append(content, svcKey, svc)
		case k == nameK || k == portK:
			if k.HeadComment != "" || k.LineComment != "" {
				// Keep the comment of the key that disappears.
				svcKey.HeadComment = joinComments(svcKey.HeadComment, k.HeadComment, k.LineComment)
			}
		default:
			content = append(content, k, b.Content[i+1])
		}
	}
	b.Content = content
	if b.Style == yaml.FlowStyle {
		svc.Style = yaml.FlowStyle
	}
}

func joinComments(cs ...string) string {
	var out []string
	for _, c := range cs {
		if c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out, "\n")
}

// moveClassAnnotation sets spec.ingressClassName from the annotation and
// removes the annotation, unless the spec names a class already.
func moveClassAnnotation(n, spec *yaml.Node, ch *Change) {
	ann := child(child(n, "metadata"), "annotations")
	k, v := entry(ann, classAnnotation)
	if k == nil || v.Value == "" || child(spec, "ingressClassName") != nil {
		return
	}
	spec.Content = append([]*yaml.Node{str("ingressClassName"), str(v.Value)}, spec.Content...)
	remove(ann, classAnnotation)
	if len(ann.Content) == 0 {
		remove(child(n, "metadata"), "annotations")
	}
	ch.Notes = append(ch.Notes, fmt.Sprintf("annotation %s moved to spec.ingressClassName: %s", classAnnotation, v.Value))
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func entry(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

func child(n *yaml.Node, key string) *yaml.Node {
	_, v := entry(n, key)
	return v
}

func scalar(n *yaml.Node, key string) string {
	if c := child(n, key); c != nil && c.Kind == yaml.ScalarNode {
		return c.Value
	}
	return ""
}

func remove(n *yaml.Node, key string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}

func shift(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shift(c, by)
	}
}

func looksLikeJSON(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		return t[0] == '{'
	}
	return false
}

// doc is one document of a file: raw is its exact text including the
// marker line, body the same for parsing with the marker blanked so that
// lines stay exact; marker says whether it started with "---".
type doc struct {
	raw, body []byte
	marker    bool
	firstLine int
}

func splitDocs(data []byte) []doc {
	var out []doc
	cur := doc{firstLine: 1}
	var raw, body bytes.Buffer
	flush := func() {
		cur.raw, cur.body = bytes.Clone(raw.Bytes()), bytes.Clone(body.Bytes())
		out = append(out, cur)
		raw.Reset()
		body.Reset()
	}
	for i, l := range bytes.SplitAfter(data, []byte("\n")) {
		if isMarker(l) {
			if i > 0 {
				flush()
			}
			cur = doc{firstLine: i + 1, marker: true}
			raw.Write(l)
			body.WriteString(strings.Repeat(" ", 3) + string(l[3:]))
			continue
		}
		raw.Write(l)
		body.Write(l)
	}
	flush()
	return out
}

func isMarker(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := l[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n'
}

// writeJSON writes a node as indented JSON, keeping key order.
func writeJSON(b *bytes.Buffer, n *yaml.Node, indent string) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	in := indent + jsonIndent
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, _ := json.Marshal(n.Content[i].Value)
			b.WriteString(in)
			b.Write(k)
			b.WriteString(": ")
			if err := writeJSON(b, n.Content[i+1], in); err != nil {
				return err
			}
			if i+2 < len(n.Content) {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[\n")
		for i, c := range n.Content {
			b.WriteString(in)
			if err := writeJSON(b, c, in); err != nil {
				return err
			}
			if i+1 < len(n.Content) {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		j, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b.Write(j)
	default:
		b.WriteString("null")
	}
	return nil
}
