package webhook

import "time"

// Backoffs are d's waits after failed attempts 1..n.
func Backoffs(d *Dispatcher, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d.backoff(i + 1)
	}
	return out
}
