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
	out, err := stacktest.Invoke(t, handler(s.Pipeline), stacktest.Event(t, "select", "round"))
	require.NoError(t, err)
	var got stage.SelectOutput
	require.NoError(t, json.Unmarshal(out, &got))
	require.Equal(t, stack.FixtureGenerationID, got.GenerationID)
	require.Equal(t, 0, got.Passed)
	require.Equal(t, 2, got.Shortfall)
	require.True(t, got.TopUp)
	require.Equal(t, 2, got.NextRound)
}
