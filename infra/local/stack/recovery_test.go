package stack_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
)

func maintainedStack(t *testing.T, m stack.Maintenance) *stack.Stack {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	s, err := stack.Start(context.Background(), stack.Options{DatabaseURL: pgtest.NewURL(t), Config: cfg, Maintenance: m})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// A generation nothing runs (its execution died with the process that ran
// it) makes no progress, and the sweeper finalises it with a reason.
func TestSweeperFinalisesStalledGeneration(t *testing.T) {
	t.Parallel()
	s := maintainedStack(t, stack.Maintenance{StallTimeout: 2 * time.Second})
	ctx := context.Background()
	settings, err := generation.ParseSettings([]byte(`{"count": 2}`), generation.Defaults{TargetConfidence: 0.95, Provider: "procedural"})
	require.NoError(t, err)
	g, _, err := s.Store.CreateGeneration(ctx, generation.Generation{UserID: "u", RequestedCount: 2, Settings: settings, Provider: "procedural"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := s.Store.Generation(ctx, g.ID)
		require.NoError(t, err)
		return got.Status.Final()
	}, 30*time.Second, 100*time.Millisecond)
	got, err := s.Store.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusFailed, got.Status)
	require.Equal(t, "stalled: the generation made no progress for too long", got.Error)
	require.GreaterOrEqual(t, got.CompletedAt.Sub(got.CreatedAt), 2*time.Second)
}

// The local stack recalibrates on its schedule, as EventBridge does in AWS,
// so "auto" learns on one machine: after enough outcomes the buffer advice
// is no longer the default.
func TestLocalRecalibration(t *testing.T) {
	t.Parallel()
	s := maintainedStack(t, stack.Maintenance{Recalibrate: 200 * time.Millisecond})
	api := httptest.NewServer(s.API(true).Handler())
	t.Cleanup(api.Close)
	isDefault := func() bool {
		var body struct{ IsDefault bool }
		stacktest.GetJSON(t, api.URL+"/api/optimization/buffer/procedural?count=4", "designer", &body)
		return body.IsDefault
	}
	require.True(t, isDefault())
	ctx := context.Background()
	reference, err := stack.DemoReference(ctx)
	require.NoError(t, err)
	for range 2 {
		g, err := s.API(true).App.Create(ctx, appRequest(reference))
		require.NoError(t, err)
		_, err = s.Starter.Wait(ctx, g.ID)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return !isDefault() }, 30*time.Second, 100*time.Millisecond)
}

func appRequest(reference []byte) app.CreateRequest {
	return app.CreateRequest{User: "designer", Image: reference, Settings: []byte(`{"count": 8, "bufferPercent": 25}`)}
}
