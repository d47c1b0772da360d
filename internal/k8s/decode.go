// Package k8s decodes Kubernetes manifests (multi-document YAML, JSON,
// List) into the typed objects the store keeps, converting the legacy
// Ingress API versions to networking.k8s.io/v1 and reporting every problem
// as a diagnostic tied to file and line instead of failing the whole file.
package k8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
)

// Diagnostic reasons produced by this package.
const (
	ReasonParseError      = "ManifestParseError"
	ReasonInvalid         = "ManifestInvalid"
	ReasonUnknownKind     = "UnknownKind"
	ReasonUnsupportedAPI  = "UnsupportedAPIVersion"
	ReasonDeprecatedAPI   = "DeprecatedAPIVersion"
	ReasonUnknownField    = "UnknownField"
	ReasonDuplicateField  = "DuplicateField"
	ReasonNonStringValue  = "NonStringValue"
	ReasonQuotedPort      = "QuotedPortNumber"
	ReasonInvalidBase64   = "InvalidSecretData"
	ReasonInvalidEndpoint = "InvalidEndpoints"
	ReasonPathNotFound    = "PathNotFound"
	ReasonFileReadError   = "FileReadError"
	ReasonDuplicateObject = "DuplicateObject"
)

// DefaultNamespace is given to namespaced objects that name none, as
// kubectl does with no context namespace set.
const DefaultNamespace = "default"

// Decode decodes one file's content: multi-document YAML, or JSON (one
// object or a stream of them). Objects of kind List expand to their items.
// Bad documents produce diagnostics; the rest of the file still decodes.
// file is only used for origins and messages.
func Decode(data []byte, file string) ([]store.Object, []diag.Diagnostic) {
	d := &decoder{file: file}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if looksLikeJSON(data) && d.decodeJSON(data) {
		return d.objs, d.diags
	}
	for _, doc := range splitYAML(data) {
		if doc.line == 0 {
			continue
		}
		d.decodeYAMLDoc(doc)
	}
	return d.objs, d.diags
}

// decoder accumulates the objects and diagnostics of one file.
type decoder struct {
	file  string
	objs  []store.Object
	diags []diag.Diagnostic
	// doc is the YAML document being decoded (nil for JSON), and
	// span the first and last file line of the current object in it,
	// used to point field diagnostics at the field's own line.
	doc  *document
	span [2]int
}

// fieldRef points ref at the line of the mapping key named key within the
// current object, when the key is found; otherwise ref is returned as is.
// A line scan is approximate (the same key may appear twice) but the
// first match after the object's start is nearly always the one meant.
func (d *decoder) fieldRef(ref diag.ObjectRef, key string) diag.ObjectRef {
	if d.doc == nil || key == "" {
		return ref
	}
	lines := strings.Split(string(d.doc.text), "\n")
	for n := max(d.span[0], d.doc.firstLine); n <= d.span[1]; n++ {
		i := n - d.doc.firstLine
		if i >= len(lines) {
			break
		}
		t := strings.TrimLeft(lines[i], " ")
		for strings.HasPrefix(t, "- ") {
			t = strings.TrimLeft(t[2:], " ")
		}
		for _, k := range []string{key, `"` + key + `"`, "'" + key + "'"} {
			if rest, ok := strings.CutPrefix(t, k+":"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r') {
				ref.Line = n
				return ref
			}
		}
	}
	return ref
}

// lastKey returns the last key of a field path: "spec.ports[0].nmae" → "nmae".
func lastKey(path string) string {
	for strings.HasSuffix(path, "]") {
		i := strings.LastIndexByte(path, '[')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func (d *decoder) add(ref diag.ObjectRef, sev diag.Severity, reason, field, msg, hint string) {
	d.diags = append(d.diags, diag.Diagnostic{
		Object: ref, Severity: sev, Reason: reason, Field: field, Message: msg, Hint: hint,
	})
}

func (d *decoder) at(line int) diag.ObjectRef {
	return diag.ObjectRef{Origin: diag.Origin{File: d.file, Line: line}}
}

func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// decodeJSON decodes a stream of JSON values. It returns false, having
// recorded nothing, when the first value is not valid JSON: YAML flow
// style ("{apiVersion: v1}") starts with '{' too and is retried as YAML.
func (d *decoder) decodeJSON(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	for first := true; ; first = false {
		start := int(dec.InputOffset())
		start += len(data[start:]) - len(bytes.TrimLeft(data[start:], " \t\r\n"))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return true
		}
		if err != nil {
			if first {
				return false
			}
			line := lineAt(data, start)
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = lineAt(data, int(se.Offset))
			}
			d.add(d.at(line), diag.Error, ReasonParseError, "",
				"invalid JSON: "+strings.TrimPrefix(err.Error(), "json: ")+"; the rest of the file is skipped", "")
			return true
		}
		var v any
		dups, err := sjson.UnmarshalStrict(raw, &v, sjson.DisallowDuplicateFields)
		if err != nil { // raw was valid JSON a moment ago
			d.add(d.at(lineAt(data, start)), diag.Error, ReasonParseError, "", "invalid JSON: "+err.Error(), "")
			continue
		}
		line := lineAt(data, start)
		ref := refOf(v, d.at(line))
		for _, e := range dups {
			d.add(ref, diag.Warning, ReasonDuplicateField, fieldPath(e),
				"field is set more than once; the last value is used", "")
		}
		d.value(v, line, nil)
	}
}

// lineAt returns the 1-based line of a byte offset.
func lineAt(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

var yamlLineRe = regexp.MustCompile(`line (\d+): ?`)

func (d *decoder) decodeYAMLDoc(doc document) {
	js, strictErr := yaml.YAMLToJSONStrict(doc.text)
	var dupMsg string
	var dupLine int
	if strictErr != nil {
		var err error
		js, err = yaml.YAMLToJSON(doc.text)
		if err != nil {
			msg, line := yamlError(err, doc)
			d.add(d.at(line), diag.Error, ReasonParseError, "", "invalid YAML: "+msg, "")
			return
		}
		// Only strict parsing failed: a mapping key appears twice.
		dupMsg, dupLine = yamlError(strictErr, doc)
	}
	var v any
	if err := sjson.UnmarshalCaseSensitivePreserveInts(js, &v); err != nil {
		d.add(d.at(doc.line), diag.Error, ReasonParseError, "", "invalid YAML: "+err.Error(), "")
		return
	}
	if v == nil {
		return // only comments, or an explicit null
	}
	d.doc = &doc
	defer func() { d.doc = nil }()
	d.span = [2]int{doc.line, doc.firstLine + bytes.Count(doc.text, []byte("\n"))}
	if dupMsg != "" {
		d.add(refOf(v, d.at(dupLine)), diag.Warning, ReasonDuplicateField, "",
			strings.TrimPrefix(dupMsg, "unmarshal errors: ")+"; the last value is used", "")
	}
	d.value(v, doc.line, listItemLines(doc))
}

// yamlError converts a go-yaml error: the first document-relative
// "line N: " becomes the returned file line (the document's line when the
// error names none) and is dropped from the message, which the origin
// already prefixes; any further ones are rewritten to file lines.
func yamlError(err error, doc document) (string, int) {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.Join(strings.Fields(msg), " ")
	line := 0
	msg = yamlLineRe.ReplaceAllStringFunc(msg, func(s string) string {
		n, _ := strconv.Atoi(yamlLineRe.FindStringSubmatch(s)[1])
		fl := doc.fileLine(n)
		if line == 0 {
			line = fl
			return ""
		}
		return "line " + strconv.Itoa(fl) + ": "
	})
	if line == 0 {
		line = doc.line
	}
	// "unexpected end of stream" points past the last line; the
	// culprit is on or before the last one with content.
	if doc.last > 0 && line > doc.last {
		line = doc.last
	}
	return msg, line
}

// value decodes one top-level document value. itemLines, when it has one
// entry per List item, gives each item its own line.
func (d *decoder) value(v any, line int, itemLines []int) {
	m, ok := v.(map[string]any)
	if !ok {
		d.add(d.at(line), diag.Error, ReasonInvalid, "",
			fmt.Sprintf("expected a Kubernetes object (a mapping), found %s", jsonKind(v)), "")
		return
	}
	d.object(m, line, itemLines, 0)
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	}
	return "a scalar"
}

// refOf builds a diagnostic reference from an undecoded object, as far as
// its metadata can be read.
func refOf(v any, at diag.ObjectRef) diag.ObjectRef {
	m, _ := v.(map[string]any)
	at.Kind, _ = m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	at.Name, _ = meta["name"].(string)
	at.Namespace, _ = meta["namespace"].(string)
	if _, ours := homes[at.Kind]; ours && at.Namespace == "" && at.Kind != store.KindIngressClass && at.Kind != store.KindGatewayClass &&
		at.Kind != store.KindNamespace {
		at.Namespace = DefaultNamespace
	}
	return at
}

// maxListDepth bounds nested Lists; real manifests nest at most once.
const maxListDepth = 4

func (d *decoder) object(m map[string]any, line int, itemLines []int, depth int) {
	ref := refOf(m, d.at(line))
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if apiVersion == "" || kind == "" {
		var missing []string
		if apiVersion == "" {
			missing = append(missing, "apiVersion")
		}
		if kind == "" {
			missing = append(missing, "kind")
		}
		d.add(ref, diag.Error, ReasonInvalid, missing[0],
			fmt.Sprintf("object has no %s; ignored", strings.Join(missing, " or ")),
			"every manifest needs apiVersion and kind, e.g. apiVersion: networking.k8s.io/v1, kind: Ingress")
		return
	}
	if _, hasItems := m["items"]; kind == "List" || (hasItems && strings.HasSuffix(kind, "List")) {
		items, ok := m["items"].([]any)
		if !ok && m["items"] != nil {
			d.add(ref, diag.Error, ReasonInvalid, "items",
				fmt.Sprintf("List items must be a list, found %s; ignored", jsonKind(m["items"])), "")
			return
		}
		if depth >= maxListDepth {
			d.add(ref, diag.Error, ReasonInvalid, "items", "Lists nested too deeply; ignored", "")
			return
		}
		d.list(m, apiVersion, kind, items, line, itemLines, depth)
		return
	}
	meta, _ := m["metadata"].(map[string]any)
	if name, _ := meta["name"].(string); name == "" {
		d.add(ref, diag.Error, ReasonInvalid, "metadata.name",
			fmt.Sprintf("%s (%s) has no metadata.name; ignored", kind, apiVersion), "")
		return
	}
	decode, ok := decoders[gvk{apiVersion, kind}]
	if !ok {
		d.unsupported(ref, apiVersion, kind)
		return
	}
	d.coerceStringMap(ref, meta, "metadata.annotations", "annotations")
	d.coerceStringMap(ref, meta, "metadata.labels", "labels")
	for _, o := range decode(d, ref, m) {
		d.objs = append(d.objs, store.Object{Obj: o.obj, Origin: ref.Origin})
	}
}

// list expands a List. Items of a typed list (IngressList, as the API
// returns it) may omit apiVersion and kind; they inherit them.
func (d *decoder) list(m map[string]any, apiVersion, kind string, items []any, line int, itemLines []int, depth int) {
	itemKind := strings.TrimSuffix(kind, "List")
	parent := d.span
	for i, it := range items {
		l := line
		d.span = parent
		if len(itemLines) == len(items) {
			l = itemLines[i]
			d.span[0] = l
			if i+1 < len(items) {
				d.span[1] = itemLines[i+1] - 1
			}
		}
		im, ok := it.(map[string]any)
		if !ok {
			d.add(refOf(m, d.at(l)), diag.Error, ReasonInvalid, fmt.Sprintf("items[%d]", i),
				fmt.Sprintf("List item is %s, not an object; ignored", jsonKind(it)), "")
			continue
		}
		if itemKind != "" {
			if _, ok := im["kind"]; !ok {
				im["kind"] = itemKind
			}
			if _, ok := im["apiVersion"]; !ok {
				im["apiVersion"] = apiVersion
			}
		}
		d.object(im, l, nil, depth+1)
	}
}

type gvk struct{ apiVersion, kind string }

// decoded is one typed object produced from a manifest.
type decoded struct{ obj runtime.Object }

type decodeFunc func(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded

// decoders maps each supported apiVersion and kind to its decoder.
var decoders = map[gvk]decodeFunc{
	{"networking.k8s.io/v1", "Ingress"}:           decodeIngress,
	{"networking.k8s.io/v1beta1", "Ingress"}:      decodeLegacyIngress,
	{"extensions/v1beta1", "Ingress"}:             decodeLegacyIngress,
	{"networking.k8s.io/v1", "IngressClass"}:      decodeIngressClass,
	{"networking.k8s.io/v1beta1", "IngressClass"}: decodeLegacyIngressClass,
	{"v1", "Service"}:                             decodeService,
	{"v1", "Secret"}:                              decodeSecret,
	{"v1", "ConfigMap"}:                           decodeConfigMap,
	{"v1", "Endpoints"}:                           decodeEndpoints,
	{"discovery.k8s.io/v1", "EndpointSlice"}:      decodeEndpointSlice,
	{"v1", "Namespace"}:                           decodeNamespace,

	{GatewayGroup + "/v1", "GatewayClass"}:        decodeGatewayClass,
	{GatewayGroup + "/v1", "Gateway"}:             decodeGateway,
	{GatewayGroup + "/v1", "HTTPRoute"}:           decodeHTTPRoute,
	{GatewayGroup + "/v1", "GRPCRoute"}:           decodeGRPCRoute,
	{GatewayGroup + "/v1", "TLSRoute"}:            decodeTLSRoute,
	{GatewayGroup + "/v1", "ReferenceGrant"}:      decodeReferenceGrant,
	{GatewayGroup + "/v1", "BackendTLSPolicy"}:    decodeBackendTLSPolicy,
	{GatewayGroup + "/v1beta1", "ReferenceGrant"}: decodeReferenceGrantV1beta1,
}

// homes lists, for each kind moat reads, the API groups that serve it and
// the apiVersion to use.
var homes = map[string]struct {
	groups    []string
	preferred string
}{
	"Ingress":       {[]string{"networking.k8s.io", "extensions"}, "networking.k8s.io/v1"},
	"IngressClass":  {[]string{"networking.k8s.io"}, "networking.k8s.io/v1"},
	"Service":       {[]string{""}, "v1"},
	"Secret":        {[]string{""}, "v1"},
	"ConfigMap":     {[]string{""}, "v1"},
	"Endpoints":     {[]string{""}, "v1"},
	"EndpointSlice": {[]string{"discovery.k8s.io"}, "discovery.k8s.io/v1"},
	"Namespace":     {[]string{""}, "v1"},

	"GatewayClass":     {[]string{GatewayGroup}, GatewayGroup + "/v1"},
	"Gateway":          {[]string{GatewayGroup}, GatewayGroup + "/v1"},
	"HTTPRoute":        {[]string{GatewayGroup}, GatewayGroup + "/v1"},
	"GRPCRoute":        {[]string{GatewayGroup}, GatewayGroup + "/v1"},
	"TLSRoute":         {[]string{GatewayGroup}, GatewayGroup + "/v1"},
	"ReferenceGrant":   {[]string{GatewayGroup}, GatewayGroup + "/v1"},
	"BackendTLSPolicy": {[]string{GatewayGroup}, GatewayGroup + "/v1"},
}

// builtinGroups are the groups of the kinds moat reads; a kind of ours
// under one of them at a version we do not know is a mistake, whereas the
// same kind name in another group (Knative's Service) is someone else's.
var builtinGroups = map[string]bool{"": true, "networking.k8s.io": true, "extensions": true, "discovery.k8s.io": true, GatewayGroup: true}

// removedIn records API versions the API server no longer serves.
var removedIn = map[gvk]string{
	{"discovery.k8s.io/v1beta1", "EndpointSlice"}: "1.25",
}

func (d *decoder) unsupported(ref diag.ObjectRef, apiVersion, kind string) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		d.add(ref, diag.Error, ReasonInvalid, "apiVersion",
			fmt.Sprintf("apiVersion %q is malformed: %v; ignored", apiVersion, err), "")
		return
	}
	if h, ok := homes[kind]; ok && builtinGroups[gv.Group] {
		msg := fmt.Sprintf("%s %s is not an API version moat reads; ignored", kind, apiVersion)
		if v, ok := removedIn[gvk{apiVersion, kind}]; ok {
			msg = fmt.Sprintf("%s %s was removed in Kubernetes %s; ignored", kind, apiVersion, v)
		}
		d.add(d.fieldRef(ref, "apiVersion"), diag.Error, ReasonUnsupportedAPI, "apiVersion", msg, "use apiVersion "+h.preferred)
		return
	}
	for k, h := range homes {
		if strings.EqualFold(k, kind) && k != kind {
			d.add(ref, diag.Error, ReasonUnknownKind, "kind",
				fmt.Sprintf("kind %s (%s) is not a kind moat reads; ignored", kind, apiVersion),
				fmt.Sprintf("kinds are case-sensitive: did you mean kind %s, apiVersion %s?", k, h.preferred))
			return
		}
	}
	d.add(ref, diag.Info, ReasonUnknownKind, "",
		fmt.Sprintf("kind %s (%s) is not used by moat; ignored", kind, apiVersion), "")
}

// typed decodes m into obj, reporting unknown and duplicate fields as
// warnings (the object still decodes, as with kubectl's default
// warn-level field validation). A type mismatch drops the object: a
// half-decoded Ingress could route traffic the user never wrote.
func (d *decoder) typed(ref diag.ObjectRef, m map[string]any, obj any) bool {
	js, err := json.Marshal(m)
	if err != nil {
		d.add(ref, diag.Error, ReasonInvalid, "", "cannot re-encode object: "+err.Error(), "")
		return false
	}
	strict, err := sjson.UnmarshalStrict(js, obj)
	if err != nil {
		d.add(ref, diag.Error, ReasonInvalid, "",
			strings.TrimPrefix(err.Error(), "json: ")+"; object ignored", "")
		return false
	}
	for _, e := range strict {
		reason, msg := ReasonUnknownField, "unknown field; ignored"
		if strings.HasPrefix(e.Error(), "duplicate field") {
			reason, msg = ReasonDuplicateField, "field is set more than once; the last value is used"
		}
		f := fieldPath(e)
		d.add(d.fieldRef(ref, lastKey(f)), diag.Warning, reason, f, msg, "")
	}
	return true
}

func fieldPath(err error) string {
	var fe sjson.FieldError
	if errors.As(err, &fe) {
		return fe.FieldPath()
	}
	return ""
}

// coerceStringMap turns scalar values of a string map (annotations,
// labels, ConfigMap data) into strings. Unquoted "true" or "80" is a
// common slip that the API server rejects; moat reads it as the user
// meant and warns so the manifest can be fixed before it meets a cluster.
func (d *decoder) coerceStringMap(ref diag.ObjectRef, parent map[string]any, path, key string) {
	mm, ok := parent[key].(map[string]any)
	if !ok {
		if parent[key] != nil {
			d.add(ref, diag.Error, ReasonInvalid, path,
				fmt.Sprintf("%s must be a mapping of strings, found %s; ignored", path, jsonKind(parent[key])), "")
			delete(parent, key)
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(mm)) {
		v := mm[k]
		var s string
		switch t := v.(type) {
		case string, nil:
			continue
		case bool:
			s = strconv.FormatBool(t)
		case int64:
			s = strconv.FormatInt(t, 10)
		case float64:
			s = strconv.FormatFloat(t, 'f', -1, 64)
		default:
			d.add(d.fieldRef(ref, k), diag.Error, ReasonInvalid, path+"."+k,
				fmt.Sprintf("value must be a string, found %s; ignored", jsonKind(v)), "")
			delete(mm, k)
			continue
		}
		mm[k] = s
		d.add(d.fieldRef(ref, k), diag.Warning, ReasonNonStringValue, path+"."+k,
			fmt.Sprintf("value %s is not a string; read as %q (the API server would reject it)", s, s),
			"quote the value: \""+s+"\"")
	}
}

func decodeIngress(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var ing networkingv1.Ingress
	if !d.typed(ref, m, &ing) {
		return nil
	}
	defaultNamespace(&ing.ObjectMeta.Namespace)
	return []decoded{{&ing}}
}

func decodeLegacyIngress(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	// extensions/v1beta1 and networking.k8s.io/v1beta1 Ingress share
	// one schema, so one Go type reads both.
	var old networkingv1beta1.Ingress
	if !d.typed(ref, m, &old) {
		return nil
	}
	apiVersion, _ := m["apiVersion"].(string)
	d.add(d.fieldRef(ref, "apiVersion"), diag.Warning, ReasonDeprecatedAPI, "apiVersion",
		fmt.Sprintf("Ingress apiVersion %s was removed in Kubernetes 1.22; converted to networking.k8s.io/v1", apiVersion),
		"use apiVersion networking.k8s.io/v1: backend.service.name / backend.service.port.number, and set pathType")
	ing := convertIngress(d, ref, &old)
	defaultNamespace(&ing.Namespace)
	return []decoded{{ing}}
}

func decodeIngressClass(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var ic networkingv1.IngressClass
	if !d.typed(ref, m, &ic) {
		return nil
	}
	ic.Namespace = "" // cluster-scoped; the API server ignores it too
	return []decoded{{&ic}}
}

func decodeLegacyIngressClass(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var old networkingv1beta1.IngressClass
	if !d.typed(ref, m, &old) {
		return nil
	}
	d.add(d.fieldRef(ref, "apiVersion"), diag.Warning, ReasonDeprecatedAPI, "apiVersion",
		"IngressClass apiVersion networking.k8s.io/v1beta1 was removed in Kubernetes 1.22; converted to networking.k8s.io/v1",
		"use apiVersion networking.k8s.io/v1")
	ic := convertIngressClass(&old)
	ic.Namespace = ""
	return []decoded{{ic}}
}

func decodeService(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var svc corev1.Service
	if !d.typed(ref, m, &svc) {
		return nil
	}
	defaultNamespace(&svc.Namespace)
	defaultService(&svc)
	return []decoded{{&svc}}
}

func decodeConfigMap(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	d.coerceStringMap(ref, m, "data", "data")
	var cm corev1.ConfigMap
	if !d.typed(ref, m, &cm) {
		return nil
	}
	defaultNamespace(&cm.Namespace)
	return []decoded{{&cm}}
}

func decodeEndpointSlice(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var es discoveryv1.EndpointSlice
	if !d.typed(ref, m, &es) {
		return nil
	}
	defaultNamespace(&es.Namespace)
	defaultEndpointSlice(&es)
	return []decoded{{&es}}
}

// decodeNamespace keeps a Namespace's labels (a Gateway listener's
// allowedRoutes.namespaces.selector reads them), with the
// kubernetes.io/metadata.name label the API server sets on every one.
func decodeNamespace(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var ns corev1.Namespace
	if !d.typed(ref, m, &ns) {
		return nil
	}
	ns.Namespace = "" // cluster-scoped
	ns.Labels = maps.Clone(ns.Labels)
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
	ns.Spec, ns.Status = corev1.NamespaceSpec{}, corev1.NamespaceStatus{}
	return []decoded{{&ns}}
}

func defaultNamespace(ns *string) {
	if *ns == "" {
		*ns = DefaultNamespace
	}
}
