package main

import (
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
	out, err := stacktest.Invoke(t, handler(s.Pipeline), stacktest.Event(t, "generate", "candidate"))
	require.NoError(t, err)
	var got stage.GenerateOutput
	require.NoError(t, json.Unmarshal(out, &got))
	require.Equal(t, stack.FixtureCandidateID, got.CandidateID)
	require.True(t, got.Stored)
	require.Equal(t, "stored", got.Status)

	_, err = stacktest.Invoke(t, handler(s.Pipeline), []byte(`{"generationId": "`+stack.FixtureGenerationID+`", "candidateId": "00000000-0000-4000-8000-000000000000"}`))
	require.ErrorAs(t, err, new(*stage.NotFound))
}
