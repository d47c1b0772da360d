package routecfg

import "time"

// TrafficDefaults are the controller-wide settings of the traffic
// families (ingress-nginx's ConfigMap: proxy-body-size, proxy-*-timeout,
// proxy-next-upstream*, limit-*-status-code, ...). They apply to every
// route whose Ingress does not set the family.
type TrafficDefaults struct {
	Body     Body
	Timeouts Timeouts
	// Balance is the default load-balance algorithm.
	Balance Algorithm
	// LimitReqStatus and LimitConnStatus answer requests over a rate or
	// connection limit.
	LimitReqStatus, LimitConnStatus int
}

// DefaultTraffic returns ingress-nginx's defaults (configmap.md):
// proxy-body-size 1m, proxy-connect-timeout 5, proxy-send-timeout and
// proxy-read-timeout 60, proxy-next-upstream "error timeout" with 3 tries,
// proxy-buffering off, proxy-request-buffering on, client-body-buffer-size
// 8k, proxy-buffer-size 4k, proxy-buffers-number 4,
// proxy-max-temp-file-size 1024m, limits answered 503.
func DefaultTraffic() TrafficDefaults {
	return TrafficDefaults{
		Body: Body{MaxBytes: 1 << 20, RequestBuffering: true, BufferBytes: 8 << 10,
			ResponseHeaderMax: 4 << 10, ResponseBuffers: 4 * (4 << 10), BuffersNumber: 4, MaxTempFile: 1 << 30},
		Timeouts: Timeouts{
			Connect: 5 * time.Second,
			Send:    60 * time.Second,
			Read:    60 * time.Second,
			Next:    NextError | NextTimeout,
			Tries:   3,
		},
		LimitReqStatus:  503,
		LimitConnStatus: 503,
	}
}
