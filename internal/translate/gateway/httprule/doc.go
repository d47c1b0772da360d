// Package httprule maps the parts of one HTTPRoute rule onto the routing
// model (routecfg): matches and their precedence, redirect, CORS,
// timeouts and retry, gRPC method matches as paths, and the checks the
// CRDs would make. It is pure (no snapshot, no status), so the Gateway
// translation that attaches routes to listeners stays apart from how a
// rule's fields become route fields.
package httprule
