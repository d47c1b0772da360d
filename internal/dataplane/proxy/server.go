package proxy

// setServer puts the Server header on a final response about to be
// written.
func (rw *responseWriter) setServer() {
	if rw.server != nil {
		rw.w.Header()["Server"] = rw.server
	}
}
