// Package unsupported is the table of ingress-nginx annotations moat
// refuses on purpose, each with the reason. An Ingress that sets one gets
// an AnnotationRefused diagnostic; the rest of it is served.
package unsupported

import "github.com/moat-ingress/moat/internal/annotations"

func refused(name, why string) annotations.Key {
	return annotations.Key{Name: name, Status: annotations.Refused, Doc: why}
}

const (
	noRaw    = "Raw nginx configuration: moat never takes nginx directives; TCP and UDP services come from --tcp-services-configmap and --udp-services-configmap."
	noPush   = "HTTP/2 server push is deprecated and removed from browsers; moat does not push."
	noMirror = "Request mirroring is not implemented; the request is served without a mirror copy."
)

// Keys is the table.
var Keys = []annotations.Key{
	refused("stream-snippet", noRaw),
	refused("http2-push-preload", noPush),
	refused("mirror-target", noMirror),
	refused("mirror-host", noMirror),
	refused("mirror-request-body", noMirror),
}
