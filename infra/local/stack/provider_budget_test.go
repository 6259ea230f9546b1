package stack_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/generation"
)

// limitedAPI is a provider that enforces its own limits the way a hosted
// one does: more than concurrent calls at once, or more than perWindow in
// any window, is answered 429 with Retry-After. It measures the most calls
// it ever had in flight.
type limitedAPI struct {
	next       http.Handler
	concurrent int
	perWindow  int
	window     time.Duration

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	starts      []time.Time
	calls       int
	refused     int
}

func (l *limitedAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	l.mu.Lock()
	l.calls++
	// The budget stamps a call when it is granted, a moment before the
	// request arrives here: the window is checked with that much slack.
	recent := 0
	for _, s := range l.starts {
		if now.Sub(s) < l.window-250*time.Millisecond {
			recent++
		}
	}
	if l.inFlight >= l.concurrent || recent >= l.perWindow {
		l.refused++
		l.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = fmt.Fprint(w, `{"error": {"message": "Rate limit reached for gpt-image-2.", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}`)
		return
	}
	l.inFlight++
	l.maxInFlight = max(l.maxInFlight, l.inFlight)
	l.starts = append(l.starts, now)
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.inFlight--
		l.mu.Unlock()
	}()
	l.next.ServeHTTP(w, r)
}

// Thirty generations at once through the real definition, against a
// provider that allows 2 calls in flight and 60 per (scaled) minute: the
// budget in Postgres, shared by every Generate invocation, keeps every call
// within both, so the provider never refuses one and every generation is
// delivered. (The window's arithmetic is tested on its own in
// shared/postgres: thirty 1024² calls, two at a time, take long enough
// here that the rate never binds first.)
func TestProviderBudgetHoldsAcrossGenerations(t *testing.T) {
	t.Parallel()
	const generations, window = 30, 2 * time.Second
	api := &limitedAPI{next: &fakeImagesAPI{}, concurrent: 2, perWindow: 60, window: window}
	env := map[string]string{
		"PROVIDER":                    "openai",
		"OPENAI_MAX_CONCURRENT_CALLS": "2",
		"OPENAI_CALLS_PER_MINUTE":     "60",
		"PROVIDER_RATE_WINDOW":        window.String(), // the minute, scaled
		"PROVIDER_BUDGET_MAX_WAIT":    "2m",
		// One user's 30 generations at once: the provider's budget is
		// under test, not the user's.
		"USER_MAX_CONCURRENT_GENERATIONS": "0",
		"USER_MAX_COST_USD_PER_DAY":       "0",
	}
	h := startHarness(t, env, stack.Options{
		DatabaseURL:    pgtest.NewURL(t),
		Providers:      fakeOpenAI(t, api),
		MapConcurrency: 3,
		Sleep:          func(context.Context, time.Duration) error { return nil },
	})

	var wg sync.WaitGroup
	results := make([]generation.Generation, generations)
	errs := make([]error, generations)
	for i := range generations {
		wg.Go(func() {
			results[i], errs[i] = h.run(`{"count": 1, "bufferPercent": 0, "width": 1024, "height": 1024, "prompt": "navy wool coat on a hanger"}`)
		})
	}
	wg.Wait()
	for i, g := range results {
		require.NoError(t, errs[i])
		require.Equal(t, generation.StatusDelivered, g.Status, g.Error)
		require.Equal(t, 1, g.DeliveredCount)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	t.Logf("%d calls, at most %d in flight, %d refused", api.calls, api.maxInFlight, api.refused)
	require.Equal(t, generations, api.calls, "one candidate each, no call refused and repeated")
	require.Equal(t, 2, api.maxInFlight, "calls in flight never exceeded the limit (and reached it)")
	require.Zero(t, api.refused)
}
