package generation

import (
	"context"
	"math/rand/v2"
	"time"
)

// BudgetedProvider holds a provider to a budget shared by every generation
// (ProviderBudget: calls in flight and calls per window), and makes the
// provider's Retry-After hold every generation's calls. It waits inside the
// call only while the wait fits MaxWait and leaves Reserve of ctx's
// deadline for the call itself; otherwise it returns a throttled
// ProviderError, which the state machine's Retry on ProviderThrottled
// handles, as it handles the provider's own 429.
type BudgetedProvider struct {
	Provider
	Budget ProviderBudget
	Limit  ProviderLimit
	// MaxWait is the most one Generate waits in all, for the budget and for
	// one Retry-After (0: never waits).
	MaxWait time.Duration
	// Reserve is what a wait must leave of ctx's deadline: a call needs
	// time to run and its image to be stored.
	Reserve time.Duration
	// Sleep waits (nil: a timer that ctx cancels).
	Sleep func(ctx context.Context, d time.Duration) error
}

// defaultLease is how long a call holds its slot when ctx has no deadline;
// with one, the deadline bounds it (a Lambda that dies releases nothing).
const defaultLease = 2 * time.Minute

// Generate makes one image within the budget.
func (b BudgetedProvider) Generate(ctx context.Context, req ProviderRequest) (Image, error) {
	var waited time.Duration
	poll := 50 * time.Millisecond
	retried := false
	for {
		grant, err := b.Budget.Acquire(ctx, b.Name(), b.Limit, b.lease(ctx))
		if err != nil {
			return Image{}, err
		}
		if grant.Lease == 0 {
			wait := grant.Wait
			if wait <= 0 {
				// Nobody knows when a call in flight ends: poll, backing
				// off, jittered so waiters do not ask in step.
				wait = poll/2 + rand.N(poll)
				poll = min(2*poll, 500*time.Millisecond)
			}
			if !b.fits(ctx, waited, wait) {
				return Image{}, &ProviderError{Kind: ProviderThrottled, Provider: b.Name(), Reason: "budget: " + grant.Why, RetryAfter: grant.Wait}
			}
			if err := b.sleep(ctx, wait); err != nil {
				return Image{}, &ProviderError{Kind: ProviderThrottled, Provider: b.Name(), Reason: "budget: " + grant.Why, Err: err}
			}
			waited += wait
			continue
		}
		img, err := b.Provider.Generate(ctx, req)
		// A release that fails leaves the slot to its lease's end: the
		// image is not lost for it.
		_ = b.Budget.Release(context.WithoutCancel(ctx), grant.Lease)
		pe, ok := AsProviderError(err)
		if ok && pe.Kind == ProviderThrottled && pe.RetryAfter > 0 {
			// Every generation holds off, not only this call; best effort.
			_ = b.Budget.Hold(context.WithoutCancel(ctx), b.Name(), pe.RetryAfter)
			if !retried && b.fits(ctx, waited, pe.RetryAfter) {
				retried = true // the next Acquire waits out the hold
				continue
			}
		}
		return img, err
	}
}

// fits reports whether waiting d more (after waited) stays within MaxWait
// and leaves Reserve of ctx's deadline.
func (b BudgetedProvider) fits(ctx context.Context, waited, d time.Duration) bool {
	if waited+d > b.MaxWait {
		return false
	}
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline)-d >= b.Reserve
}

func (b BudgetedProvider) lease(ctx context.Context) time.Duration {
	if deadline, ok := ctx.Deadline(); ok {
		return max(time.Until(deadline), time.Second)
	}
	return defaultLease
}

func (b BudgetedProvider) sleep(ctx context.Context, d time.Duration) error {
	if b.Sleep != nil {
		return b.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits for d, or returns ctx's error as soon as ctx is done. A d of
// zero or less only reports whether ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
