package generation_test

import (
	"testing"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/stretchr/testify/require"
)

var defaults = generation.Defaults{TargetConfidence: 0.95, Provider: "procedural"}

func TestParseSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, err := generation.ParseSettings([]byte(`{"count": 12}`), defaults)
	require.NoError(t, err)
	require.Equal(t, 12, s.Count)
	require.True(t, s.BufferPercent.Auto)
	require.True(t, s.AutoValidate)
	require.True(t, s.UseRLHFLearning)
	require.Equal(t, 0.95, s.TargetConfidence)
	require.Equal(t, "procedural", s.Provider)
	require.Equal(t, generation.DefaultMaxRounds, s.MaxRounds)
	require.Equal(t, generation.DefaultImageSide, s.Width)
	require.NotEmpty(t, s.Prompt)
	require.NoError(t, s.Validate())
}

func TestParseSettingsValues(t *testing.T) {
	t.Parallel()
	s, err := generation.ParseSettings([]byte(`{"count": 5, "bufferPercent": 0, "strict": true, "maxRounds": 2,
		"maxImages": 9, "maxCostUsd": 1.5, "provider": " Procedural ", "prompt": "red coat", "width": 256, "height": 384,
		"autoValidate": false, "useRLHFLearning": false, "targetConfidence": 0.9}`), defaults)
	require.NoError(t, err)
	require.Equal(t, generation.BufferPercent{Percent: 0}, s.BufferPercent, "0 %% stays 0 %%, never coerced to a default")
	require.True(t, s.Strict)
	require.Equal(t, 2, s.MaxRounds)
	require.Equal(t, 9, s.MaxImages)
	require.Equal(t, 1.5, s.MaxCostUSD)
	require.Equal(t, "procedural", s.Provider)
	require.Equal(t, "red coat", s.Prompt)
	require.Equal(t, 256, s.Width)
	require.Equal(t, 384, s.Height)
	require.False(t, s.AutoValidate)
	require.False(t, s.UseRLHFLearning)
	require.Equal(t, 0.9, s.TargetConfidence)
	require.NoError(t, s.Validate())

	auto, err := generation.ParseSettings([]byte(`{"count": 1, "bufferPercent": "auto"}`), defaults)
	require.NoError(t, err)
	require.True(t, auto.BufferPercent.Auto)
}

func TestParseSettingsErrorsNameTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		json  string
		field string
	}{
		{"count missing", `{}`, "count"},
		{"count zero", `{"count": 0}`, "count"},
		{"count 101", `{"count": 101}`, "count"},
		{"count string", `{"count": "x"}`, "count"},
		{"count fraction", `{"count": 2.5}`, "count"},
		{"buffer negative", `{"count": 1, "bufferPercent": -1}`, "bufferPercent"},
		{"buffer too big", `{"count": 1, "bufferPercent": 201}`, "bufferPercent"},
		{"buffer word", `{"count": 1, "bufferPercent": "lots"}`, "bufferPercent"},
		{"unknown field", `{"count": 1, "colour": "red"}`, "colour"},
		{"confidence", `{"count": 1, "targetConfidence": 1}`, "targetConfidence"},
		{"rounds", `{"count": 1, "maxRounds": 0}`, "maxRounds"},
		{"max images below count", `{"count": 10, "maxImages": 5}`, "maxImages"},
		{"max images above 5 × count", `{"count": 10, "maxImages": 51}`, "maxImages"},
		{"max images above the absolute bound", `{"count": 100, "maxImages": 493}`, "maxImages"},
		{"cost", `{"count": 1, "maxCostUsd": 0}`, "maxCostUsd"},
		{"width", `{"count": 1, "width": 10}`, "width"},
		{"prompt empty", `{"count": 1, "prompt": "  "}`, "prompt"},
		{"wrong type", `{"count": 1, "strict": "yes"}`, "strict"},
		{"not an object", `[1]`, "settings"},
		{"not json", `{count: 1}`, "settings"},
		{"two objects", `{"count": 1} {"count": 2}`, "settings"},
		{"NUL in prompt", `{"count": 1, "prompt": "red\u0000dress"}`, "prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := generation.ParseSettings([]byte(tt.json), defaults)
			require.Error(t, err)
			require.Equal(t, generation.EINVALID, generation.ErrorCode(err))
			var e *generation.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.field, e.Field, err.Error())
		})
	}
}
