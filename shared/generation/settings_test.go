package generation_test

import (
	"strings"
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
		{"carriage return in prompt", `{"count": 1, "prompt": "red\rdress"}`, "prompt"},
		{"escape sequence in negative prompt", `{"count": 1, "negativePrompt": "\u001b[2J"}`, "negativePrompt"},
		{"C1 control in prompt", `{"count": 1, "prompt": "red\u0085dress"}`, "prompt"},
		{"non-character in prompt", `{"count": 1, "prompt": "red\uffffdress"}`, "prompt"},
		{"model path traversal", `{"count": 1, "provider": "replicate", "model": "../../v1/deployments/acme/x"}`, "model"},
		{"model with a query", `{"count": 1, "model": "flux?x=1"}`, "model"},
		{"model of 5,000 characters", `{"count": 1, "model": "` + strings.Repeat("m", 5000) + `"}`, "model"},
		{"provider with spaces", `{"count": 1, "provider": "no such provider"}`, "provider"},
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

// With an allow-list, a request names only an enabled provider and one of
// its allowed models.
func TestParseSettingsAllowedModels(t *testing.T) {
	t.Parallel()
	d := defaults
	d.Models = map[string][]string{"procedural": {"procedural-v1"}, "replicate": {"black-forest-labs/flux-2-pro", "acme/flux-x"}}
	for _, ok := range []string{
		`{"count": 1}`,
		`{"count": 1, "model": "procedural-v1"}`,
		`{"count": 1, "provider": "replicate", "model": "acme/flux-x"}`,
		`{"count": 1, "provider": "auto"}`,
	} {
		_, err := generation.ParseSettings([]byte(ok), d)
		require.NoError(t, err, ok)
	}
	for _, tt := range []struct{ json, field string }{
		{`{"count": 1, "provider": "replicate", "model": "acme/other"}`, "model"},
		{`{"count": 1, "model": "black-forest-labs/flux-2-pro"}`, "model"}, // another provider's model
		{`{"count": 1, "provider": "openai"}`, "provider"},                 // not enabled
	} {
		_, err := generation.ParseSettings([]byte(tt.json), d)
		var e *generation.Error
		require.ErrorAs(t, err, &e, tt.json)
		require.Equal(t, tt.field, e.Field, err.Error())
	}
}

func TestSafeText(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "red coat", "tab\tand\nnewline", "crème brûlée 👗", "\u00a0nbsp", "\U0010FFFD"} {
		require.Empty(t, generation.SafeText(ok), "%q", ok)
	}
	for _, bad := range []string{"\x00", "\r", "\x1b[31m", "\x7f", "\u0085", "\ufffe", "\uffff", "\xff\xfe", string([]byte{0xed, 0xa0, 0x80})} {
		require.NotEmpty(t, generation.SafeText(bad), "%q", bad)
	}
}
