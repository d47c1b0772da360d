package upgrade

// frameTracker follows a WebSocket byte stream (RFC 6455 §5.2) far enough
// to know whether it stands between two frames: it reads each frame
// header and skips the payload. It never buffers the stream and never
// fails: bytes that are not WebSocket frames only make it lose track,
// which costs the Close frame, not the stream.
type frameTracker struct {
	// hdr holds a frame header read in part; hdrLen is its full length
	// once the second byte is known (0 before).
	hdr    [14]byte
	got    int
	hdrLen int
	// payload is what is left of the current frame's payload.
	payload uint64
	// lost is set when a length does not fit in 63 bits (§5.2 forbids
	// it): boundaries cannot be told any more.
	lost bool
}

// boundary reports whether the bytes seen so far end exactly at the end
// of a frame.
func (t *frameTracker) boundary() bool {
	return !t.lost && t.got == 0 && t.payload == 0
}

// advance consumes p.
func (t *frameTracker) advance(p []byte) {
	for len(p) > 0 && !t.lost {
		if t.payload > 0 {
			n := uint64(len(p))
			if n > t.payload {
				n = t.payload
			}
			t.payload -= n
			p = p[n:]
			continue
		}
		t.hdr[t.got] = p[0]
		t.got++
		p = p[1:]
		if t.got == 2 {
			t.hdrLen = 2
			switch t.hdr[1] & 0x7f {
			case 126:
				t.hdrLen += 2
			case 127:
				t.hdrLen += 8
			}
			if t.hdr[1]&0x80 != 0 { // masked (client to server)
				t.hdrLen += 4
			}
		}
		if t.got < 2 || t.got < t.hdrLen {
			continue
		}
		var n uint64
		switch l := t.hdr[1] & 0x7f; l {
		case 126:
			n = uint64(t.hdr[2])<<8 | uint64(t.hdr[3])
		case 127:
			for _, b := range t.hdr[2:10] {
				n = n<<8 | uint64(b)
			}
			if n>>63 != 0 {
				t.lost = true
			}
		default:
			n = uint64(l)
		}
		t.payload, t.got, t.hdrLen = n, 0, 0
	}
}
