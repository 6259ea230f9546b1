package learning_test

import (
	"context"
	"errors"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

// fakeStats is an in-memory StatsReader; fail makes every read fail.
type fakeStats struct {
	stats    []generation.AttributeStat
	outcomes []generation.Outcome
	reasons  []generation.ReasonCount
	fail     error
	reads    *int
}

func (f fakeStats) AttributeStats(context.Context, string) ([]generation.AttributeStat, error) {
	if f.reads != nil {
		*f.reads++
	}
	return f.stats, f.fail
}

func (f fakeStats) FailureReasons(context.Context, string) ([]generation.ReasonCount, error) {
	return f.reasons, f.fail
}

func (f fakeStats) RecentOutcomes(_ context.Context, _ string, limit int) ([]generation.Outcome, error) {
	return f.outcomes[:min(limit, len(f.outcomes))], f.fail
}

var twoGroups = []learning.Group{
	{"lighting", []string{"good light", "bad light", "plain light"}},
	{"mood", []string{"calm", "loud"}},
}

// share counts how often each modifier was chosen over n candidates.
func share(t *testing.T, c generation.ModifierChooser, req generation.ChoiceRequest) map[string]float64 {
	t.Helper()
	choice, err := c.Choose(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, choice.Modifiers, req.Count)
	out := map[string]float64{}
	for _, mods := range choice.Modifiers {
		for _, m := range mods {
			out[m] += 1 / float64(req.Count)
		}
	}
	return out
}

func TestThompsonChoose(t *testing.T) {
	t.Parallel()
	learned := []generation.AttributeStat{
		{Attribute: "good light", Passes: 90, Failures: 10},
		{Attribute: "bad light", Passes: 30, Failures: 70},
		{Attribute: "plain light", Passes: 80, Failures: 20},
	}
	tests := []struct {
		name    string
		learn   bool
		explore float64
		check   func(t *testing.T, s map[string]float64)
	}{
		{"learning prefers the best posterior", true, -1, func(t *testing.T, s map[string]float64) {
			require.Greater(t, s["good light"], 0.75)
			require.Zero(t, s["bad light"], "a 30 % pass rate never beats 80–90 % without exploration")
		}},
		{"the exploration floor picks every modifier", true, 0.3, func(t *testing.T, s map[string]float64) {
			require.Greater(t, s["bad light"], 0.3/3*0.6, "about explore/len(group) of the picks")
			require.Greater(t, s["good light"], 0.6)
		}},
		{"learning off is uniform", false, 0, func(t *testing.T, s map[string]float64) {
			for _, m := range []string{"good light", "bad light", "plain light"} {
				require.InDelta(t, 1.0/3, s[m], 0.05, m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reads := 0
			c := learning.Thompson{Stats: fakeStats{stats: learned, reads: &reads}, Catalog: twoGroups, Explore: tt.explore}
			s := share(t, c, generation.ChoiceRequest{Provider: "p", Count: 2000, Seed: 7, Learn: tt.learn})
			tt.check(t, s)
			require.InDelta(t, 1, s["calm"]+s["loud"], 1e-9, "one modifier of every group per candidate")
			if !tt.learn {
				require.Zero(t, reads, "learning off reads no statistics")
			}
		})
	}
}

func TestThompsonIsDeterministicAndSpreadsCandidates(t *testing.T) {
	t.Parallel()
	c := learning.Thompson{Stats: fakeStats{}, Catalog: twoGroups}
	req := generation.ChoiceRequest{Provider: "p", Count: 30, Seed: 42, Learn: true}
	a, err := c.Choose(context.Background(), req)
	require.NoError(t, err)
	b, err := c.Choose(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, a, b, "the same seed and statistics choose the same")
	distinct := map[string]bool{}
	for _, m := range a.Modifiers {
		distinct[strings.Join(m, "|")] = true
	}
	require.Greater(t, len(distinct), 3, "without knowledge the candidates of one round differ")
}

func TestThompsonNegativeTermsAndErrors(t *testing.T) {
	t.Parallel()
	reasons := []generation.ReasonCount{{Reason: "blurry", Weight: 12}, {Reason: "wrong_size", Weight: 9}, {Reason: "noisy", Weight: 1}}
	c := learning.Thompson{Stats: fakeStats{reasons: reasons}, NegativePromptProviders: map[string]bool{"stability": true}}
	with, err := c.Choose(context.Background(), generation.ChoiceRequest{Provider: "stability", Count: 1, Seed: 1, Learn: true})
	require.NoError(t, err)
	require.Equal(t, []string{"blurry"}, with.NegativeTerms, "wrong_size has no term; one noisy image is too little evidence")
	for _, m := range with.Modifiers[0] {
		require.NotEqual(t, "blurry", m)
	}
	without, err := c.Choose(context.Background(), generation.ChoiceRequest{Provider: "openai", Count: 1, Seed: 1, Learn: true})
	require.NoError(t, err)
	require.Empty(t, without.NegativeTerms, "a provider without a negative-prompt field gets none")

	broken := errors.New("database down")
	_, err = learning.Thompson{Stats: fakeStats{fail: broken}}.Choose(context.Background(), generation.ChoiceRequest{Provider: "p", Count: 1, Learn: true})
	require.ErrorIs(t, err, broken)
}

func TestNegativeTerms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reasons []generation.ReasonCount
		max     int
		want    []string
	}{
		{"none", nil, 3, []string{}},
		{"ranked and capped", []generation.ReasonCount{{Reason: "underexposed", Weight: 20}, {Reason: "blurry: radius 5", Weight: 30}, {Reason: "noisy", Weight: 10}, {Reason: "blank", Weight: 8}}, 2, []string{"blurry", "underexposed"}},
		{"a small share is noise", []generation.ReasonCount{{Reason: "blurry", Weight: 100}, {Reason: "noisy", Weight: 5}}, 3, []string{"blurry"}},
		{"unmapped reasons count in the total only", []generation.ReasonCount{{Reason: "filtered: nsfw", Weight: 50}, {Reason: "overexposed", Weight: 4}}, 3, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, learning.NegativeTerms(tt.reasons, tt.max))
		})
	}
}

func TestBetaQuantileAndRank(t *testing.T) {
	t.Parallel()
	tests := []struct{ p, a, b, want float64 }{
		{0.3, 1, 1, 0.3},              // uniform
		{0.25, 2, 1, math.Sqrt(0.25)}, // CDF x²
		{0.5, 1, 2, 1 - math.Sqrt(0.5)},
		{0.05, 10, 10, 0.320087}, // by numerical integration of the density
	}
	for _, tt := range tests {
		require.InDelta(t, tt.want, buffer.Posterior{Alpha: tt.a, Beta: tt.b}.Quantile(tt.p), 1e-4, "%+v", tt)
	}

	ranked := learning.Rank([]generation.AttributeStat{
		{Attribute: "bad light", Passes: 3, Failures: 7, Samples: 10},
		{Attribute: "good light", Passes: 9, Failures: 1, Samples: 10},
	}, twoGroups, 1, 0.9)
	require.Len(t, ranked, 5, "every catalog modifier, the unseen ones at the prior")
	require.Equal(t, "good light", ranked[0].Attribute)
	require.Equal(t, "bad light", ranked[len(ranked)-1].Attribute)
	require.InDelta(t, 10.0/12, ranked[0].Mean, 1e-12)
	require.Less(t, ranked[0].Lower, ranked[0].Mean)
	require.Greater(t, ranked[0].Upper, ranked[0].Mean)
	require.Equal(t, "lighting", ranked[0].Group)

	jeffreys := learning.Rank([]generation.AttributeStat{{Attribute: "good light", Passes: 9, Failures: 1, Samples: 10}}, twoGroups, 0, 0.9)
	require.InDelta(t, 9.5/11, jeffreys[0].Mean, 1e-12, "prior 0: buffer.DefaultPriorCount, Jeffreys' ½")
	require.InDelta(t, 0.5, jeffreys[len(jeffreys)-1].Mean, 1e-12, "an unseen modifier sits at the prior's mean")
}

func TestRatingEvent(t *testing.T) {
	t.Parallel()
	c := generation.Candidate{ID: generation.NewID(), GenerationID: generation.NewID(), Provider: "procedural", Modifiers: []string{"calm"}}
	tests := []struct {
		rating             int
		positive, negative bool
		weight             float64
	}{
		{1, false, true, 2}, {2, false, true, 1}, {3, false, false, 0}, {4, true, false, 1}, {5, true, false, 2},
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		e := learning.RatingEvent(c, "alice", tt.rating, []string{"too dark"}, now)
		require.NoError(t, e.Validate())
		require.Equal(t, generation.FeedbackUserRating, e.Type)
		require.Equal(t, generation.SourceUserAction, e.Source)
		require.Nil(t, e.Passed, "a rating says nothing about the validator's outcome")
		require.Equal(t, tt.positive, e.Positive, "rating %d", tt.rating)
		require.Equal(t, tt.negative, e.Negative, "rating %d", tt.rating)
		require.Equal(t, tt.weight, e.Weight, "rating %d", tt.rating)
		require.Equal(t, c.Modifiers, e.Modifiers)
		require.Equal(t, e.EventID, learning.RatingEvent(c, "alice", tt.rating, []string{"too dark"}, now.Add(time.Hour)).EventID, "a retried rating is one event")
		require.NotEqual(t, e.EventID, learning.RatingEvent(c, "bob", tt.rating, []string{"too dark"}, now).EventID)
	}
}

// The learner must find failure-causing modifiers from outcomes alone: no
// package on its path may import the procedural provider (whose quirk
// table decides the defects).
func TestLearnerNeverImportsTheDefectTable(t *testing.T) {
	t.Parallel()
	pkgs := []string{"./", "../stage", "../postgres", "../generation", "../sqs"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/designerbff/pipeline/shared/learning", "the listing is of the learner path")
	for _, d := range deps {
		require.NotContains(t, d, "shared/provider/", "the learner path imports %s", d)
	}
}

// BenchmarkThompsonChoose is the plan stage's cost of choosing a round's
// modifiers (100 candidates, every group, learned statistics).
func BenchmarkThompsonChoose(b *testing.B) {
	var stats []generation.AttributeStat
	for _, g := range learning.Catalog {
		for _, m := range g.Modifiers {
			i := len(stats)
			stats = append(stats, generation.AttributeStat{Attribute: m, Passes: float64(10 + i), Failures: float64(40 - i)})
		}
	}
	c := learning.Thompson{Stats: fakeStats{stats: stats}}
	req := generation.ChoiceRequest{Provider: "p", Count: 100, Seed: 1, Learn: true}
	for b.Loop() {
		if _, err := c.Choose(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
