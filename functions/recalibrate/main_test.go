package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/stage"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestSampleEvents(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	_, err := s.Pipeline.Generate(ctx, stack.FixtureCandidateID)
	require.NoError(t, err)
	_, err = s.Pipeline.Validate(ctx, stack.FixtureCandidateID)
	require.NoError(t, err)
	require.NoError(t, s.Pipeline.MarkCandidateFailed(ctx, stack.FixtureFailedCandidateID, "InternalError: boom"))

	for range 2 { // idempotent: the second run recomputes the same numbers
		out, err := stacktest.Invoke(t, handler(s.Pipeline), stacktest.Event(t, "recalibrate", "schedule"))
		require.NoError(t, err)
		var got stage.RecalibrateOutput
		require.NoError(t, json.Unmarshal(out, &got))
		require.Equal(t, 1, got.Providers)
		require.Equal(t, 2, got.Samples, "the validated and the failed candidate; the planned one has no outcome yet")
	}
}
