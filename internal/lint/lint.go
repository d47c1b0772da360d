// Package lint is `moat lint`: the file source's decoding plus translate,
// run over manifests that are not served, with every diagnostic pointed at
// the line of the field it is about, and printed for people (text) or
// tools (JSON).
package lint

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/lint/locate"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

// Reasons produced by this package.
const (
	// ReasonNoManifests: the paths named no manifest file at all.
	ReasonNoManifests = "NoManifests"
)

// StdinName is the file name diagnostics use for manifests read from stdin.
const StdinName = "<stdin>"

// Options are the serve options that change what translate reports.
type Options struct {
	// IngressClass is the class to check as. Empty checks every class the
	// manifests name, each as if moat served it, so that manifests written
	// for ingress-nginx ("nginx") are checked without a flag. Either way
	// every Ingress that moat run with this class (empty: "moat", serve's
	// default) leaves unserved is reported (IngressNotServed).
	IngressClass          string
	ControllerClass       string
	WatchWithoutClass     bool
	DefaultSSLCertificate string
	// DefaultBackendService is serve's --default-backend-service.
	DefaultBackendService string
	// AnnotationPrefix defaults to nginx.ingress.kubernetes.io.
	AnnotationPrefix     string
	EnableSSLPassthrough bool
	// ConfigMap is "namespace/name" of the controller ConfigMap, read from
	// the manifests like every other object.
	ConfigMap string
	// TCPServices and UDPServices are "namespace/name" of the tcp-services
	// and udp-services ConfigMaps, read from the manifests.
	TCPServices, UDPServices string
	// Now is the time certificates are checked against.
	Now time.Time
	// SOPSAgeKeyFile and SealedSecretsKey open encrypted manifests, as
	// serve's flags of the same names.
	SOPSAgeKeyFile, SealedSecretsKey string
}

// Result is what one lint run found.
type Result struct {
	Diagnostics []diag.Diagnostic
	// Files are the manifest files read, in order.
	Files []string
	// Objects counts the objects decoded.
	Objects int
	// Classes are the ingress classes the Ingresses were checked as.
	Classes []string
	// sources keeps each file's content for line lookups and excerpts.
	sources map[string][]byte
	// snapshot is what was checked; claimed maps "namespace/name" of each
	// Ingress checked to the class it was checked as.
	snapshot *store.Snapshot
	claimed  map[string]string
	// configMap is Options.ConfigMap, for the migration report.
	configMap string
}

// Count returns how many diagnostics have severity sev.
func (r *Result) Count(sev diag.Severity) int {
	n := 0
	for _, d := range r.Diagnostics {
		if d.Severity == sev {
			n++
		}
	}
	return n
}

// Failed reports whether the run should exit non-zero: any error, or with
// strict any warning too.
func (r *Result) Failed(strict bool) bool {
	if strict {
		return r.FailedAt(diag.Warning)
	}
	return r.FailedAt(diag.Error)
}

// FailedAt reports whether a diagnostic of severity sev or worse was found
// (--fail-on).
func (r *Result) FailedAt(sev diag.Severity) bool {
	return diag.AtLeast(r.Diagnostics, sev)
}

// Run lints the manifests that paths name (see k8s.ManifestFiles); the path
// "-" reads stdin.
func Run(paths []string, stdin io.Reader, opts Options) (*Result, error) {
	r := &Result{sources: map[string][]byte{}}
	var files []string
	readStdin := false
	for _, p := range paths {
		if p == "-" {
			readStdin = true
		} else {
			files = append(files, p)
		}
	}
	var objs []store.Object
	var diags []diag.Diagnostic
	if len(files) > 0 {
		list, ds := k8s.ManifestFiles(files)
		diags = append(diags, ds...)
		for _, f := range list {
			data, err := os.ReadFile(f)
			if err != nil {
				diags = append(diags, diag.Diagnostic{Object: diag.ObjectRef{Origin: diag.Origin{File: f}},
					Severity: diag.Error, Reason: k8s.ReasonFileReadError, Message: fmt.Sprintf("cannot read %s: %v", f, err)})
				continue
			}
			r.add(f, data, &objs, &diags, opts)
		}
		if len(list) == 0 && len(ds) == 0 {
			diags = append(diags, diag.Diagnostic{Object: diag.ObjectRef{Origin: diag.Origin{File: strings.Join(files, ", ")}},
				Severity: diag.Error, Reason: ReasonNoManifests,
				Message: "no manifest files found: directories are searched for *.yaml, *.yml and *.json files (hidden names are skipped)"})
		}
	}
	if readStdin {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		r.add(StdinName, data, &objs, &diags, opts)
	}
	shadowed := shadowedObjects(objs)
	objs, dups := k8s.Dedupe(objs)
	r.check(objs, append(diags, dups...), opts)
	r.checkShadowed(objs, shadowed, opts)
	diag.Sort(r.Diagnostics)
	r.Diagnostics = diag.Bound(dedupe(r.Diagnostics))
	return r, nil
}

// RunObjects lints objects that come from elsewhere than files (a
// cluster); their diagnostics carry no file or line.
func RunObjects(objs []store.Object, opts Options) *Result {
	r := &Result{sources: map[string][]byte{}}
	r.check(objs, nil, opts)
	return r
}

// check translates objs once per class and collects every diagnostic.
func (r *Result) check(objs []store.Object, diags []diag.Diagnostic, opts Options) {
	r.Objects = len(objs)
	r.configMap = opts.ConfigMap
	sn := store.FromObjects(objs, nil)
	r.snapshot = sn

	classes := []string{opts.IngressClass}
	if opts.IngressClass == "" {
		classes = classesOf(sn)
	}
	r.Classes = classes
	r.claimed = map[string]string{}
	seen := map[diag.Diagnostic]bool{}
	for _, d := range diags {
		seen[d] = true
	}
	toptsFor := func(class string) translate.Options {
		return translate.Options{
			IngressClass:          class,
			ControllerClass:       opts.ControllerClass,
			WatchWithoutClass:     opts.WatchWithoutClass,
			DefaultSSLCertificate: opts.DefaultSSLCertificate,
			DefaultBackendService: opts.DefaultBackendService,
			AnnotationPrefix:      opts.AnnotationPrefix,
			EnableSSLPassthrough:  opts.EnableSSLPassthrough,
			ConfigMap:             opts.ConfigMap,
			TCPServices:           opts.TCPServices,
			UDPServices:           opts.UDPServices,
			Now:                   opts.Now,
			// moat's default listeners, so an auth-url back at moat is flagged.
			Listeners: translate.Listeners{HTTP: ":8080", HTTPS: ":8443", Admin: "127.0.0.1:10254"},
		}
	}
	for _, class := range classes {
		topts := toptsFor(class)
		for nn := range translate.Claimed(sn, topts) {
			if _, ok := r.claimed[nn]; !ok {
				r.claimed[nn] = class
			}
		}
		_, ds := translate.Translate(sn, topts)
		for _, d := range ds {
			// Every class gets its own pass, and whether moat serves an
			// Ingress at all is judged once below, against the class it
			// runs with (IngressNotServed).
			if d.Reason == "IngressClassNotMatched" || d.Reason == "IngressClassMissing" {
				continue
			}
			if !seen[d] {
				seen[d] = true
				diags = append(diags, d)
			}
		}
	}
	served := opts.IngressClass
	if served == "" {
		served = defaultClass
	}
	uopts := opts
	if uopts.ControllerClass == "" {
		uopts.ControllerClass = translate.DefaultControllerClass
	}
	diags = append(diags, unserved(sn, translate.Claimed(sn, toptsFor(served)), uopts, served)...)
	diags = gate(diags, sn, certificatesIn(r.sources))
	locate.Diagnostics(diags, r.sources)
	diag.Sort(diags)
	r.Diagnostics = diag.Bound(dedupe(diags))
}

// shadowedObjects returns the definitions that Dedupe drops: every one but
// the last of each object defined more than once.
func shadowedObjects(objs []store.Object) []store.Object {
	last := map[store.Key]int{}
	for i, o := range objs {
		if k, ok := store.KeyOf(o.Obj); ok {
			last[k] = i
		}
	}
	var out []store.Object
	for i, o := range objs {
		if k, ok := store.KeyOf(o.Obj); ok && last[k] != i {
			out = append(out, o)
		}
	}
	return out
}

// checkShadowed checks each definition that another one replaced, as if
// it were the one served, and keeps the findings about it: serve uses only
// the last definition, but a linter that skipped the others would pass
// files it never looked at (two overlays, or a directory holding a
// manifest's broken and fixed versions side by side).
func (r *Result) checkShadowed(objs, shadowed []store.Object, opts Options) {
	for _, sh := range shadowed {
		key, _ := store.KeyOf(sh.Obj)
		alt := make([]store.Object, 0, len(objs))
		for _, o := range objs {
			if k, _ := store.KeyOf(o.Obj); k == key {
				o = sh
			}
			alt = append(alt, o)
		}
		extra := &Result{sources: r.sources}
		extra.check(alt, nil, opts)
		for _, d := range extra.Diagnostics {
			if d.Object.Kind == key.Kind && d.Object.Namespace == key.Namespace && d.Object.Name == key.Name && d.Object.File == sh.Origin.File {
				r.Diagnostics = append(r.Diagnostics, d)
			}
		}
		for _, c := range extra.Classes {
			if !slices.Contains(r.Classes, c) {
				r.Classes = append(r.Classes, c)
			}
		}
	}
	sort.Strings(r.Classes)
}

func (r *Result) add(name string, data []byte, objs *[]store.Object, diags *[]diag.Diagnostic, opts Options) {
	r.Files = append(r.Files, name)
	r.sources[name] = data
	o, d := r.decode(name, data, opts)
	*objs = append(*objs, o...)
	*diags = append(*diags, d...)
}

// dedupe drops repeats that line refinement made identical.
func dedupe(ds []diag.Diagnostic) []diag.Diagnostic {
	out := ds[:0]
	seen := map[diag.Diagnostic]bool{}
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// defaultClass is the class checked when the manifests name none; it is
// serve's default, and only matters with --watch-ingress-without-class=false.
const defaultClass = "moat"

const (
	classAnnotation   = "kubernetes.io/ingress.class"
	defaultClassAnnot = "ingressclass.kubernetes.io/is-default-class"
)

// classesOf lists the classes the Ingresses name (spec.ingressClassName,
// else the deprecated annotation) and the default IngressClasses, sorted.
func classesOf(sn *store.Snapshot) []string {
	set := map[string]bool{}
	for _, ing := range sn.Ingresses {
		if c := className(ing); c != "" {
			set[c] = true
		}
	}
	for _, ic := range sn.IngressClasses {
		if ic.Annotations[defaultClassAnnot] == "true" {
			set[ic.Name] = true
		}
	}
	if len(set) == 0 {
		return []string{defaultClass}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func className(ing *networkingv1.Ingress) string {
	if n := ing.Spec.IngressClassName; n != nil && *n != "" {
		return *n
	}
	return ing.Annotations[classAnnotation]
}
