package proxy

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/clientbody"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/spool"
)

func TestSpoolBody(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	for _, tc := range []struct {
		name        string
		memMax, max int64
		wantErr     error
		wantFile    bool
	}{
		{"in memory", 1 << 20, 0, nil, false},
		{"exactly the memory size", int64(len(body)), 0, nil, false},
		{"spilled to a file", 100, 0, nil, true},
		{"at the limit", 100, int64(len(body)), nil, true},
		{"over the limit in memory", 1 << 20, int64(len(body)) - 1, clientbody.ErrTooLarge, false},
		{"over the limit in the file", 100, int64(len(body)) - 1, clientbody.ErrTooLarge, false},
	} {
		// proxy-body-size is the client body's (clientbody.Body), whoever reads it.
		src := &clientbody.Body{}
		src.Reset(io.NopCloser(iotest.HalfReader(strings.NewReader(body))), nil, 0, false)
		src.Limit(tc.max)
		s, err := spool.Read(src, tc.memMax)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if s.InFile() != tc.wantFile || s.Size() != int64(len(body)) {
			t.Errorf("%s: file %v, size %d", tc.name, s.InFile(), s.Size())
		}
		// Every attempt reads it whole from the start.
		for i := 0; i < 2; i++ {
			got, err := io.ReadAll(s.Reader())
			if err != nil || string(got) != body {
				t.Errorf("%s: read %d: %d bytes, %v", tc.name, i, len(got), err)
			}
		}
		s.Close()
	}
}
