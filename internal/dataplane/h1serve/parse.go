package h1serve

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
)

// Error is a request the server answers with Status, then closes the
// connection.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return e.Reason }

// readRequest reads one request head.
func readRequest(br *bufio.Reader, _ Limits) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err) {
			return nil, err
		}
		if strings.Contains(err.Error(), "unsupported transfer encoding") {
			return nil, &Error{Status: http.StatusNotImplemented, Reason: err.Error()}
		}
		return nil, &Error{Status: http.StatusBadRequest, Reason: err.Error()}
	}
	if req.Host == "" && req.ProtoAtLeast(1, 1) {
		return nil, &Error{Status: http.StatusBadRequest, Reason: "missing Host header"}
	}
	return req, nil
}
