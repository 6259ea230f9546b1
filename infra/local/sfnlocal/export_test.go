package sfnlocal

import (
	"context"
	"time"
)

// Test-only seams, visible to the package's external tests.

// WithDeadline replaces context.WithTimeout for TimeoutSeconds (Task and
// execution). Tests pass a function returning an already expired context to
// exercise States.Timeout without waiting.
func WithDeadline(deadline func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)) Option {
	return func(c *config) { c.deadline = deadline }
}

// WithJitter sets the random source for JitterStrategy FULL: a function
// returning a value in [0, 1) that scales the computed delay.
func WithJitter(jitter func() float64) Option {
	return func(c *config) { c.jitter = jitter }
}
