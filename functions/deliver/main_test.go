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
	cands, err := s.Store.Candidates(ctx, stack.FixtureGenerationID, "")
	require.NoError(t, err)
	for _, c := range cands {
		_, err := s.Pipeline.Generate(ctx, c.ID)
		require.NoError(t, err)
		_, err = s.Pipeline.Validate(ctx, c.ID)
		require.NoError(t, err)
	}

	out, err := stacktest.Invoke(t, handler(s.Pipeline), stacktest.Event(t, "deliver", "generation"))
	require.NoError(t, err)
	var got stage.DeliverOutput
	require.NoError(t, json.Unmarshal(out, &got))
	require.Equal(t, stack.FixtureGenerationID, got.GenerationID)
	require.Equal(t, 2, got.Requested)
	require.Equal(t, 2, got.Delivered, "3 candidates, 2 requested; below-threshold ones fill when not strict")
	require.Equal(t, 3, s.Queue.Len(), "one feedback event per candidate is queued for the learner")
}
