//go:build !unix

package certs

import "time"

func processCPU() time.Duration { return 0 }
