package hostile

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/linebuf"
	"github.com/moat-ingress/moat/internal/testutil"
)

// TestAccessLogWriteFailure: an access log that cannot be written (a full
// disk: /dev/full) is counted in a metric and reported once at WARN, and
// serving goes on. (Before: nothing said so.)
func TestAccessLogWriteFailure(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("this test needs /dev/full (Linux): %v", err)
	}
	defer full.Close()
	// As `moat serve --access-log` writes it: batched by linebuf.
	lb := linebuf.New(full, 32<<10, 10*time.Millisecond)
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{mod: func(c *app.ServeConfig) { c.AccessLog = lb }})
	c := m.client(false)
	for i := range 20 {
		res, err := c.Get("http://" + host + "/")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, res, err)
		}
		res.Body.Close()
		time.Sleep(5 * time.Millisecond)
	}
	testutil.Eventually(t, 5*time.Second, "access-log errors counted", func() error {
		if v := m.metric(t, "moat_access_log_write_errors_total"); v == "" || v == "0" {
			return errorf("moat_access_log_write_errors_total = " + v)
		}
		return nil
	})
	if n := strings.Count(m.logs.String(), "writing the access log failed"); n != 1 {
		t.Errorf("%d WARN lines about the access log, want 1", n)
	}
}

type errorf string

func (e errorf) Error() string { return string(e) }
