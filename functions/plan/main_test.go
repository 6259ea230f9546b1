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
	h := handler(s.Pipeline)

	out, err := stacktest.Invoke(t, h, stacktest.Event(t, "plan", "round1"))
	require.NoError(t, err)
	var round1 stage.PlanOutput
	require.NoError(t, json.Unmarshal(out, &round1))
	require.Equal(t, stack.FixtureGenerationID, round1.GenerationID)
	require.Len(t, round1.CandidateIDs, 3, "re-planning round 1 returns its 3 candidates (2 + 50 %%)")
	require.Contains(t, round1.CandidateIDs, stack.FixtureCandidateID)

	out, err = stacktest.Invoke(t, h, stacktest.Event(t, "plan", "topup"))
	require.NoError(t, err)
	var topUp stage.PlanOutput
	require.NoError(t, json.Unmarshal(out, &topUp))
	require.Equal(t, 2, topUp.Round)
	require.Equal(t, 2, topUp.Needed, "nothing has passed yet")
	require.Len(t, topUp.CandidateIDs, 3)

	_, err = stacktest.Invoke(t, h, []byte(`{"generationId": "not-a-uuid", "round": 1}`))
	require.ErrorAs(t, err, new(*stage.InvalidRequest))
}
