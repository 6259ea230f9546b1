package generation_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// fakeBudget grants while free > 0 and records holds.
type fakeBudget struct {
	free     int
	wait     time.Duration
	released int
	holds    []time.Duration
}

func (f *fakeBudget) Acquire(context.Context, string, generation.ProviderLimit, time.Duration) (generation.BudgetGrant, error) {
	if f.free <= 0 {
		return generation.BudgetGrant{Wait: f.wait, Why: "2 calls to x in flight"}, nil
	}
	f.free--
	return generation.BudgetGrant{Lease: 1}, nil
}

func (f *fakeBudget) Release(context.Context, int64) error { f.released++; f.free++; return nil }

func (f *fakeBudget) Hold(_ context.Context, _ string, d time.Duration) error {
	f.holds = append(f.holds, d)
	return nil
}

// answers replies with its errors in turn, then an image.
type answers struct {
	errs  []error
	calls int
}

func (a *answers) Name() string         { return "x" }
func (a *answers) DefaultModel() string { return "m" }
func (a *answers) Generate(context.Context, generation.ProviderRequest) (generation.Image, error) {
	a.calls++
	if len(a.errs) > 0 {
		err := a.errs[0]
		a.errs = a.errs[1:]
		return generation.Image{}, err
	}
	return generation.Image{Bytes: []byte{1}}, nil
}

func TestBudgetedProvider(t *testing.T) {
	t.Parallel()
	var slept time.Duration
	sleep := func(_ context.Context, d time.Duration) error { slept += d; return nil }
	throttled := &generation.ProviderError{Kind: generation.ProviderThrottled, Provider: "x", RetryAfter: 3 * time.Second}

	// An exhausted budget that will not free in time: a throttled error
	// for the state machine, the provider never called.
	inner := &answers{}
	b := generation.BudgetedProvider{Provider: inner, Budget: &fakeBudget{wait: time.Minute}, MaxWait: 20 * time.Second, Sleep: sleep}
	_, err := b.Generate(t.Context(), generation.ProviderRequest{})
	pe, ok := generation.AsProviderError(err)
	require.True(t, ok, err)
	require.Equal(t, generation.ProviderThrottled, pe.Kind)
	require.Equal(t, time.Minute, pe.RetryAfter)
	require.Contains(t, pe.Reason, "budget: 2 calls to x in flight")
	require.Zero(t, inner.calls)
	require.Zero(t, slept)

	// A Retry-After that fits: every caller is held, this one waits it out
	// (through the budget) and calls again once.
	inner = &answers{errs: []error{throttled}}
	budget := &fakeBudget{free: 1}
	b = generation.BudgetedProvider{Provider: inner, Budget: budget, MaxWait: 20 * time.Second, Sleep: sleep}
	img, err := b.Generate(t.Context(), generation.ProviderRequest{})
	require.NoError(t, err)
	require.NotEmpty(t, img.Bytes)
	require.Equal(t, 2, inner.calls)
	require.Equal(t, []time.Duration{3 * time.Second}, budget.holds)
	require.Equal(t, 2, budget.released)

	// One that does not fit the deadline's reserve: the throttled error,
	// and the hold stays for everyone else.
	inner = &answers{errs: []error{throttled}}
	budget = &fakeBudget{free: 1}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b = generation.BudgetedProvider{Provider: inner, Budget: budget, MaxWait: 20 * time.Second, Reserve: 28 * time.Second, Sleep: sleep}
	_, err = b.Generate(ctx, generation.ProviderRequest{})
	require.ErrorIs(t, err, throttled)
	require.Equal(t, 1, inner.calls)
	require.Equal(t, []time.Duration{3 * time.Second}, budget.holds)
	require.Equal(t, 1, budget.released)
}
