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
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/stage"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestSampleEvents(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()

	out, err := stacktest.Invoke(t, handler(s.Pipeline), stacktest.Event(t, "markfailed", "candidate"))
	require.NoError(t, err)
	var got stage.MarkFailedOutput
	require.NoError(t, json.Unmarshal(out, &got))
	require.Equal(t, stack.FixtureFailedCandidateID, got.CandidateID)
	c, err := s.Store.Candidate(ctx, stack.FixtureFailedCandidateID, "")
	require.NoError(t, err)
	require.Equal(t, generation.CandidateFailed, c.Status)
	require.Equal(t, got.Reason, c.FailureReason)

	_, err = stacktest.Invoke(t, handler(s.Pipeline), stacktest.Event(t, "markfailed", "generation"))
	require.NoError(t, err)
	g, err := s.Store.Generation(ctx, stack.FixtureGenerationID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusFailed, g.Status)
	require.Contains(t, g.Error, "DependencyUnavailable")
	require.NotNil(t, g.CompletedAt)
}
