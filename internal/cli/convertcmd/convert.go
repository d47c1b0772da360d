// Package convertcmd is `moat convert`: reading inputs, writing files in
// place or to stdout, and the YAML/JSON output around internal/convert and
// its Gateway API conversion. It is apart from internal/convert, which
// converts objects and knows nothing of files.
package convertcmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/moat-ingress/moat/internal/convert"
	"github.com/moat-ingress/moat/internal/convert/gatewayapi"
	"github.com/moat-ingress/moat/internal/k8s"
)

func New() *cobra.Command {
	var opts convert.Options
	var outDir, format, to string
	var gw gatewayapi.Options
	cmd := &cobra.Command{
		Use:   "convert PATH...",
		Short: "Rewrite extensions/v1beta1 and networking.k8s.io/v1beta1 Ingresses as networking.k8s.io/v1",
		Long: `convert prints the manifests that PATH names (files, directories, or "-" for
stdin) with every legacy Ingress and IngressClass rewritten for the
networking.k8s.io/v1 API, as kubectl convert did: serviceName/servicePort
become service.name and service.port.number (or .name), spec.backend becomes
spec.defaultBackend, and each path gets the pathType that keeps
ingress-nginx's matching (Prefix for "/", ImplementationSpecific elsewhere).
Every other document is copied unchanged; comments are kept.

Problems that need a decision, such as a tls list split in two or a
placeholder host, are not changed: run moat lint on the result.

--to gateway-api prints Gateway API objects instead: a GatewayClass, one
Gateway per ingress class, and HTTPRoutes, GRPCRoutes and TLSRoutes with the
ingress-nginx annotations Gateway API can express. Every annotation it
cannot express is kept as a comment on the route and reported on stderr
(see docs/gateway-api.md, "Migrating").`,
		Example: `  moat convert examples/blog-post/as-written > converted.yaml
  moat convert -o json manifests/ > converted.json
  moat convert --output-dir converted/ manifests/ && moat lint converted/
  moat convert --to gateway-api manifests/ > gateway.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// -o is the format, as in moat lint and kubectl; a directory
			// there (the old meaning) is refused rather than created.
			switch format {
			case "yaml":
			case "json":
				if outDir != "" {
					return fmt.Errorf("-o json prints to stdout; --output-dir writes YAML files, keeping comments: use one or the other")
				}
			default:
				return fmt.Errorf("unknown output format %q: -o takes yaml or json; to write files into a directory use --output-dir %s", format, format)
			}
			inputs, err := convertInputs(args, cmd.InOrStdin())
			if err != nil {
				return err
			}
			log := cmd.ErrOrStderr()
			switch to {
			case "networking.k8s.io/v1", "v1", "":
			case "gateway-api":
				if outDir != "" {
					return fmt.Errorf("--to gateway-api prints one stream (one Gateway for all files); --output-dir is not supported with it")
				}
				return convertToGateway(cmd, inputs, opts, gw, format)
			default:
				return fmt.Errorf("unknown --to %q: use networking.k8s.io/v1 (the default) or gateway-api", to)
			}
			var all bytes.Buffer
			total := 0
			for i, in := range inputs {
				out, changes, err := convert.File(in.data, opts)
				if err != nil {
					return fmt.Errorf("%s: %w", in.name, err)
				}
				for _, c := range changes {
					fmt.Fprintf(log, "%s: converted %s\n", in.name, c)
				}
				total += len(changes)
				if outDir != "" {
					if err := writeConverted(outDir, in, out); err != nil {
						return err
					}
					continue
				}
				if i > 0 && len(bytes.TrimSpace(out)) > 0 && !bytes.HasPrefix(out, []byte("---")) {
					all.WriteString("---\n")
				}
				all.Write(out)
				if len(out) > 0 && out[len(out)-1] != '\n' {
					all.WriteByte('\n')
				}
			}
			if total == 0 {
				fmt.Fprintf(log, "nothing to convert: no extensions/v1beta1 or networking.k8s.io/v1beta1 Ingress or IngressClass found\n")
			}
			switch {
			case outDir != "":
			case format == "json":
				j, err := yamlStreamToJSON(all.Bytes())
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(j)
				return err
			default:
				_, err = cmd.OutOrStdout().Write(all.Bytes())
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "yaml", "output format: yaml (comments kept) or json (one object, or a List of them)")
	cmd.Flags().StringVar(&outDir, "output-dir", "", "write each file as YAML under this directory (same relative paths) instead of printing")
	cmd.Flags().StringVar(&to, "to", "networking.k8s.io/v1", "target API: networking.k8s.io/v1, or gateway-api (Gateway, HTTPRoute, GRPCRoute, TLSRoute)")
	cmd.Flags().StringVar(&gw.GatewayClass, "gateway-class", "moat", "with --to gateway-api: the GatewayClass the Gateways use")
	cmd.Flags().StringVar(&gw.GatewayNamespace, "gateway-namespace", "default", "with --to gateway-api: the namespace of the Gateways")
	cmd.Flags().BoolVar(&opts.MoveClassAnnotation, "move-class-annotation", false,
		"also move the deprecated kubernetes.io/ingress.class annotation to spec.ingressClassName")
	return cmd
}

// convertToGateway converts all inputs as one stream, so that Ingresses
// of one class in several files share one Gateway. Legacy Ingresses are
// first brought to networking.k8s.io/v1.
func convertToGateway(cmd *cobra.Command, inputs []convertInput, opts convert.Options, gw gatewayapi.Options, format string) error {
	log := cmd.ErrOrStderr()
	var all bytes.Buffer
	for _, in := range inputs {
		out, _, err := convert.File(in.data, opts)
		if err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		all.WriteString("---\n")
		all.Write(out)
		all.WriteByte('\n')
	}
	out, diags, err := gatewayapi.Convert(all.Bytes(), gw)
	if err != nil {
		return err
	}
	for _, d := range diags {
		fmt.Fprintf(log, "not converted: %s\n", d)
	}
	if format == "json" {
		if out, err = yamlStreamToJSON(out); err != nil {
			return err
		}
	}
	_, err = cmd.OutOrStdout().Write(out)
	return err
}

// convertInput is one file to convert and where it goes under -o DIR.
type convertInput struct {
	name, rel string
	data      []byte
}

// convertInputs lists the files that args name, each with its path
// relative to the directory argument that found it (for -o DIR).
func convertInputs(args []string, stdin io.Reader) ([]convertInput, error) {
	var out []convertInput
	seen := map[string]string{}
	for _, a := range args {
		if a == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading stdin: %w", err)
			}
			out = append(out, convertInput{name: "<stdin>", rel: "stdin.yaml", data: data})
			continue
		}
		files, diags := k8s.ManifestFiles([]string{a})
		if len(diags) > 0 {
			return nil, errors.New(diags[0].Message)
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() && len(files) == 0 {
			return nil, fmt.Errorf("%s: no manifest files (*.yaml, *.yml, *.json)", a)
		}
		for _, f := range files {
			rel := filepath.Base(f)
			if fi.IsDir() {
				if r, err := filepath.Rel(a, f); err == nil {
					rel = r
				}
			}
			if prev, dup := seen[rel]; dup {
				return nil, fmt.Errorf("%s and %s would both be written as %s; convert them separately", prev, f, rel)
			}
			seen[rel] = f
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			out = append(out, convertInput{name: f, rel: rel, data: data})
		}
	}
	return out, nil
}

// writeConverted writes one converted file under dir, refusing to
// overwrite its own input.
func writeConverted(dir string, in convertInput, data []byte) error {
	p := filepath.Join(dir, in.rel)
	if in.name != "<stdin>" {
		if a, b := absPath(p), absPath(in.name); a == b {
			return fmt.Errorf("-o %s would overwrite %s; write the result to another directory", dir, in.name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func absPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// yamlStreamToJSON turns a multi-document YAML stream into one JSON
// document: the object when there is one, else a v1 List of them, as
// kubectl prints several objects with -o json.
func yamlStreamToJSON(stream []byte) ([]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var items []json.RawMessage
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		j, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
			continue
		}
		items = append(items, j)
	}
	var v any = map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
	if len(items) == 1 {
		v = items[0]
	} else if items == nil {
		v = map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{}}
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
