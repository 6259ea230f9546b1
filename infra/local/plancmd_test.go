package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        string
		wantPlanned int
		wantDefault bool
		wantCapped  bool
	}{
		// buffer-statistics §4: n = 200, k = 60, N = 30 → 52 (either prior).
		{"history", "--count 30 --passes 140 --failures 60 --confidence 0.95", 52, false, false},
		// n = 200, k = 100, N = 100, Jeffreys prior → 237.
		{"Jeffreys prior", "--count 100 --passes 100 --failures 100 --prior-alpha 0.5 --prior-beta 0.5", 237, false, false},
		// n = 20, k = 10, N = 100: 313 with the default (Jeffreys), 309 uniform.
		{"short history", "--count 100 --passes 10 --failures 10", 313, false, false},
		{"short history, uniform prior", "--count 100 --passes 10 --failures 10 --prior-alpha 1 --prior-beta 1", 309, false, false},
		// Beta(8.33, 1.67): the default 20 % worth 10 outcomes.
		{"no history: the default percent's cold-start prior", "--count 4 --passes 0 --failures 0", 8, true, false},
		{"no history, no cold-start prior: the default percent", "--count 4 --cold-start-weight 0", 5, true, false},
		{"a cap", "--count 30 --passes 140 --failures 60 --max-images 40", 40, false, true},
		{"a fixed percent", "--count 30 --passes 140 --failures 60 --buffer-percent 20", 36, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			require.Equal(t, 0, run(t.Context(), append([]string{"plan"}, strings.Fields(tt.args)...), &out, io.Discard))
			var got map[string]any
			require.NoError(t, json.Unmarshal(out.Bytes(), &got))
			require.Equal(t, float64(tt.wantPlanned), got["planned"])
			require.Equal(t, tt.wantDefault, got["isDefault"])
			require.Equal(t, tt.wantCapped, got["capped"])
			require.Contains(t, got, "bufferPercent")
			require.Contains(t, got, "predictedProbability")
			require.Equal(t, 1, strings.Count(out.String(), "\n"), "one JSON object, one line")
		})
	}
}

func TestPlanCommandRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range []string{
		"--count 0", "--count 30 --passes -1", "--count 30 --confidence 1.2", "--count 30 --prior-alpha 0",
		"--count 30 --buffer-percent 500", "--count 30 extra", "--count x", "--count 30 --cold-start-weight -1",
	} {
		var stderr bytes.Buffer
		require.NotEqual(t, 0, run(t.Context(), append([]string{"plan"}, strings.Fields(args)...), io.Discard, &stderr), args)
		require.NotEmpty(t, stderr.String(), args)
	}
}
