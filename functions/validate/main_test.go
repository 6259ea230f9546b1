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
	event := stacktest.Event(t, "validate", "candidate")

	_, err := stacktest.Invoke(t, handler(s.Pipeline), event)
	require.ErrorAs(t, err, new(*stage.Conflict), "a candidate with no image yet cannot be validated")

	_, err = s.Pipeline.Generate(context.Background(), stack.FixtureCandidateID)
	require.NoError(t, err)
	out, err := stacktest.Invoke(t, handler(s.Pipeline), event)
	require.NoError(t, err)
	var got stage.ValidateOutput
	require.NoError(t, json.Unmarshal(out, &got))
	require.Equal(t, stack.FixtureCandidateID, got.CandidateID)
	c, err := s.Store.Candidate(context.Background(), stack.FixtureCandidateID, s.Pipeline.Validator.Version())
	require.NoError(t, err)
	require.NotNil(t, c.Verdict, "the verdict is stored under the validator's version")
	require.Equal(t, c.Verdict.Score, got.Score)
	require.Equal(t, c.Verdict.Passed, got.Passed)

	again, err := stacktest.Invoke(t, handler(s.Pipeline), event)
	require.NoError(t, err)
	require.JSONEq(t, string(out), string(again), "a retried validation returns the stored verdict")
}
