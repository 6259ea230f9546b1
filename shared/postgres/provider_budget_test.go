package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestProviderBudget(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	limit := generation.ProviderLimit{Concurrent: 2, PerWindow: 3, Window: 800 * time.Millisecond}

	a, err := st.Acquire(ctx, "openai", limit, time.Minute)
	require.NoError(t, err)
	b, err := st.Acquire(ctx, "openai", limit, time.Minute)
	require.NoError(t, err)
	require.NotZero(t, a.Lease)
	require.NotZero(t, b.Lease)
	full, err := st.Acquire(ctx, "openai", limit, time.Minute)
	require.NoError(t, err)
	require.Zero(t, full.Lease, "two in flight")
	require.Contains(t, full.Why, "2 calls to openai in flight")
	other, err := st.Acquire(ctx, "gemini", limit, time.Minute)
	require.NoError(t, err)
	require.NotZero(t, other.Lease, "budgets are per provider")

	require.NoError(t, st.Release(ctx, a.Lease))
	c, err := st.Acquire(ctx, "openai", limit, time.Minute)
	require.NoError(t, err)
	require.NotZero(t, c.Lease, "a released call frees its slot")
	require.NoError(t, st.Release(ctx, b.Lease))
	rate, err := st.Acquire(ctx, "openai", limit, time.Minute)
	require.NoError(t, err)
	require.Zero(t, rate.Lease, "three started in the window")
	require.Contains(t, rate.Why, "3 calls to openai in the last")
	require.Positive(t, rate.Wait)
	require.LessOrEqual(t, rate.Wait, limit.Window)
	time.Sleep(rate.Wait + 10*time.Millisecond)
	d, err := st.Acquire(ctx, "openai", limit, time.Minute)
	require.NoError(t, err)
	require.NotZero(t, d.Lease, "the oldest call left the window when Wait said")

	// A lease that ends (a caller that died) frees its slot by itself.
	short := generation.ProviderLimit{Concurrent: 1, PerWindow: 100, Window: time.Minute}
	e, err := st.Acquire(ctx, "stability", short, 100*time.Millisecond)
	require.NoError(t, err)
	require.NotZero(t, e.Lease)
	time.Sleep(150 * time.Millisecond)
	f, err := st.Acquire(ctx, "stability", short, time.Minute)
	require.NoError(t, err)
	require.NotZero(t, f.Lease)

	// A Retry-After holds every caller.
	require.NoError(t, st.Hold(ctx, "replicate", 500*time.Millisecond))
	held, err := st.Acquire(ctx, "replicate", limit, time.Minute)
	require.NoError(t, err)
	require.Zero(t, held.Lease)
	require.Contains(t, held.Why, "asked us to wait")
	require.InDelta(t, 500*time.Millisecond, held.Wait, float64(200*time.Millisecond))

	_, err = st.Acquire(ctx, "openai", generation.ProviderLimit{}, time.Minute)
	requireCode(t, generation.EINVALID, err)
}

// Concurrent acquirers never get more than the limit between them.
func TestProviderBudgetConcurrently(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	limit := generation.ProviderLimit{Concurrent: 3, PerWindow: 1000, Window: time.Minute}
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			g, err := st.Acquire(ctx, "openai", limit, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if g.Lease != 0 {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 3, granted)
}
