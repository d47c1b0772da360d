//go:build !unix

package dataplane

// connectionsFromFileLimit is ingress-nginx's default, without an
// open-file limit to derive it from.
func connectionsFromFileLimit() int { return 16384 }
