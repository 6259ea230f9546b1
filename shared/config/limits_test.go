package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
)

func TestProviderLimits(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	for _, name := range config.KnownProviders {
		if name == "procedural" {
			require.NotContains(t, c.ProviderLimits, name, "the embedded provider has no budget")
			continue
		}
		require.Equal(t, time.Minute, c.ProviderLimits[name].Window, name)
		require.Positive(t, c.ProviderLimits[name].Concurrent, name)
		require.Positive(t, c.ProviderLimits[name].PerWindow, name)
	}
	require.Equal(t, 20*time.Second, c.ProviderBudgetMaxWait)

	c, err = config.Load(env(map[string]string{
		"OPENAI_MAX_CONCURRENT_CALLS": "2", "OPENAI_CALLS_PER_MINUTE": "60", "PROVIDER_RATE_WINDOW": "2s", "PROVIDER_BUDGET_MAX_WAIT": "0s",
	}))
	require.NoError(t, err)
	require.Equal(t, generation.ProviderLimit{Concurrent: 2, PerWindow: 60, Window: 2 * time.Second}, c.ProviderLimits["openai"])
	require.Equal(t, 2*time.Second, c.ProviderLimits["gemini"].Window)
	require.Zero(t, c.ProviderBudgetMaxWait)

	_, err = config.Load(env(map[string]string{"STABILITY_MAX_CONCURRENT_CALLS": "0", "PROVIDER_RATE_WINDOW": "forever"}))
	require.ErrorContains(t, err, "STABILITY_MAX_CONCURRENT_CALLS")
	require.ErrorContains(t, err, "PROVIDER_RATE_WINDOW")
}
