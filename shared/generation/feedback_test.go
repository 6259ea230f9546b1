package generation_test

import (
	"math"
	"testing"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/stretchr/testify/require"
)

func TestIDs(t *testing.T) {
	t.Parallel()
	a := generation.EventID("feedback", "c1", "failed")
	require.True(t, generation.IsUUID(a))
	require.Equal(t, a, generation.EventID("feedback", "c1", "failed"))
	require.NotEqual(t, a, generation.EventID("feedback", "c1", "selected"))
	require.NotEqual(t, generation.EventID("ab", "c"), generation.EventID("a", "bc"), "parts are separated")
	require.Equal(t, byte('5'), a[14], "version 5 layout")
	n := generation.NewID()
	require.True(t, generation.IsUUID(n))
	require.Equal(t, byte('4'), n[14])
	require.NotEqual(t, n, generation.NewID())
	for _, bad := range []string{"", "x", "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456_426614174000", "123e4567-e89b-12d3-a456-42661417400g"} {
		require.False(t, generation.IsUUID(bad), bad)
	}
}

// Validate refuses every event the rlhf_feedback CHECKs (and Postgres text)
// would refuse, so one bad event never fails its batch's insert.
func TestFeedbackValidateMirrorsTheSchema(t *testing.T) {
	t.Parallel()
	good := func() generation.FeedbackEvent {
		score, passed := 71.5, true
		return generation.FeedbackEvent{
			EventID: generation.NewID(), GenerationID: generation.NewID(), Provider: "procedural",
			Type: generation.FeedbackSelected, Source: generation.SourceValidationFilter,
			QualityScore: &score, Passed: &passed, Positive: true, Weight: 1,
			Metadata: map[string]any{"a": []any{"b", map[string]any{"c": 1.0}}},
		}
	}
	require.NoError(t, good().Validate())
	f := func(v float64) *float64 { return &v }
	for name, tc := range map[string]struct {
		edit  func(e *generation.FeedbackEvent)
		field string
	}{
		"score below 0":   {func(e *generation.FeedbackEvent) { e.QualityScore = f(-0.5) }, "qualityScore"},
		"score above 100": {func(e *generation.FeedbackEvent) { e.QualityScore = f(100.5) }, "qualityScore"},
		"score NaN":       {func(e *generation.FeedbackEvent) { e.QualityScore = f(math.NaN()) }, "qualityScore"},
		"negative weight": {func(e *generation.FeedbackEvent) { e.Weight = -1 }, "weight"},
		"NaN weight":      {func(e *generation.FeedbackEvent) { e.Weight = math.NaN() }, "weight"},
		"infinite weight": {func(e *generation.FeedbackEvent) { e.Weight = math.Inf(1) }, "weight"},
		"both labels":     {func(e *generation.FeedbackEvent) { e.Negative = true }, "isNegative"},
		"empty provider":  {func(e *generation.FeedbackEvent) { e.Provider = "" }, "provider"},
		"NUL in a reason": {func(e *generation.FeedbackEvent) { e.Reasons = []string{"a\x00b"} }, "feedback"},
		"NUL in metadata key": {func(e *generation.FeedbackEvent) {
			e.Metadata = map[string]any{"x": []any{map[string]any{"\x00": 1.0}}}
		}, "metadata"},
		"bad type": {func(e *generation.FeedbackEvent) { e.Type = "liked" }, "feedbackType"},
	} {
		e := good()
		tc.edit(&e)
		err := e.Validate()
		require.Error(t, err, name)
		var ge *generation.Error
		require.ErrorAs(t, err, &ge, name)
		require.Equal(t, tc.field, ge.Field, name)
	}
	// The bounds themselves are allowed, as the CHECKs allow them.
	e := good()
	e.QualityScore, e.Weight, e.Positive = f(0), 0, false
	require.NoError(t, e.Validate())
	e.QualityScore = f(100)
	require.NoError(t, e.Validate())
}
