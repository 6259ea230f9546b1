package generation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/stretchr/testify/require"
)

func newGeneration(t *testing.T, settingsJSON string) generation.Generation {
	t.Helper()
	s, err := generation.ParseSettings([]byte(settingsJSON), defaults)
	require.NoError(t, err)
	return generation.Generation{
		ID: generation.NewID(), UserID: "u1", Status: generation.StatusPlanning,
		RequestedCount: s.Count, Settings: s, Provider: s.Provider, BasePrompt: s.Prompt,
	}
}

func TestWithBufferIsExactInteger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n       int
		percent float64
		want    int
	}{
		{100, 10, 110}, // float math gives 110.00000000000001 → 111
		{12, 20, 15},   // 14.4 → 15
		{10, 0, 10},
		{1, 20, 2},
		{30, 66.67, 51},
		{100, 200, 300},
		{0, 50, 0},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, generation.WithBuffer(tt.n, tt.percent), "%d at %v%%", tt.n, tt.percent)
	}
}

func TestPlanRound(t *testing.T) {
	t.Parallel()
	policy := generation.PlanPolicy{DefaultBufferPercent: 20}
	tests := []struct {
		name       string
		settings   string
		round      int
		tally      generation.Tally
		wantCount  int
		wantNeeded int
		wantMethod string
	}{
		{"auto uses the default percent", `{"count": 12}`, 1, generation.Tally{}, 15, 12, generation.BufferAuto},
		{"fixed percent", `{"count": 10, "bufferPercent": 50}`, 1, generation.Tally{}, 15, 10, generation.BufferFixed},
		{"zero percent", `{"count": 10, "bufferPercent": 0}`, 1, generation.Tally{}, 10, 10, generation.BufferFixed},
		{"top-up plans only the shortfall", `{"count": 10, "bufferPercent": 50}`, 2, generation.Tally{Generated: 15, Passed: 8}, 3, 2, generation.BufferFixed},
		{"maxImages caps round 1", `{"count": 10, "maxImages": 11}`, 1, generation.Tally{}, 11, 10, generation.BufferAuto},
		{"maxImages caps a top-up", `{"count": 10, "maxImages": 13}`, 2, generation.Tally{Generated: 12, Passed: 7}, 1, 3, generation.BufferAuto},
		{"spent budget plans nothing", `{"count": 10, "maxImages": 12}`, 2, generation.Tally{Generated: 12, Passed: 7}, 0, 3, generation.BufferAuto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGeneration(t, tt.settings)
			plan, err := generation.PlanRound(g, tt.round, tt.tally, policy, nil)
			require.NoError(t, err)
			require.Equal(t, tt.wantCount, plan.Count)
			require.Equal(t, tt.wantNeeded, plan.Needed)
			require.Equal(t, tt.wantMethod, plan.BufferMethod)
			require.Equal(t, tt.round, plan.Round)
		})
	}
}

func TestPlanRoundRejectsRoundsOutsideTheBudget(t *testing.T) {
	t.Parallel()
	g := newGeneration(t, `{"count": 3, "maxRounds": 2}`)
	for _, round := range []int{0, 3} {
		_, err := generation.PlanRound(g, round, generation.Tally{}, generation.PlanPolicy{}, nil)
		require.Equal(t, generation.EINVALID, generation.ErrorCode(err), "round %d", round)
	}
}

// recordingChooser returns its modifiers and terms and records the request.
type recordingChooser struct {
	mods  [][]string
	terms []string
	got   *generation.ChoiceRequest
	err   error
}

func (c recordingChooser) Choose(_ context.Context, req generation.ChoiceRequest) (generation.ModifierChoice, error) {
	*c.got = req
	return generation.ModifierChoice{Modifiers: c.mods, NegativeTerms: c.terms}, c.err
}

func TestNewCandidatesAreDeterministic(t *testing.T) {
	t.Parallel()
	g := newGeneration(t, `{"count": 2, "bufferPercent": 0, "prompt": "linen shirt", "negativePrompt": "text"}`)
	plan := generation.RoundPlan{Round: 1, Count: 2}
	choice := generation.ModifierChoice{Modifiers: [][]string{{"golden hour"}, {"flat lay", "editorial"}}, NegativeTerms: []string{"blurry", "Text"}}
	a := generation.NewCandidates(g, plan, choice)
	b := generation.NewCandidates(g, plan, choice)
	require.Equal(t, a, b)
	require.Equal(t, "linen shirt, golden hour", a[0].Prompt)
	require.Equal(t, "linen shirt, flat lay, editorial", a[1].Prompt)
	require.Equal(t, "text, blurry", a[1].NegativePrompt, "learned terms go only into the negative prompt, without repeats")
	require.NotContains(t, a[0].Prompt, "blurry")
	require.NotEqual(t, a[0].Seed, a[1].Seed)
	require.GreaterOrEqual(t, a[0].Seed, int64(0))
}

func TestChooseModifiers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		settings  string
		wantLearn bool
		err       error
	}{
		{"learning on", `{"count": 3}`, true, nil},
		{"learning off", `{"count": 3, "useRLHFLearning": false}`, false, nil},
		{"chooser fails", `{"count": 3}`, true, errors.New("statistics unavailable")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGeneration(t, tt.settings)
			plan := generation.RoundPlan{Round: 2, Count: 3}
			var got generation.ChoiceRequest
			c := recordingChooser{mods: [][]string{{"calm"}}, got: &got, err: tt.err}
			choice, err := generation.ChooseModifiers(context.Background(), c, g, plan)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, [][]string{{"calm"}}, choice.Modifiers)
			require.Equal(t, generation.ChoiceRequest{Provider: g.Provider, Count: 3, Seed: generation.Seed(g.ID, 2, -1), Learn: tt.wantLearn}, got)
		})
	}
	none, err := generation.ChooseModifiers(context.Background(), nil, newGeneration(t, `{"count": 1}`), generation.RoundPlan{Round: 1, Count: 1})
	require.NoError(t, err)
	require.Empty(t, none.Modifiers, "no chooser, no modifiers")
}
