package system_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/system"
)

func TestProvidersWith(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        map[string]string
		wantModels map[string]string
	}{
		{name: "default: procedural only", wantModels: map[string]string{"procedural": "procedural-v1"}},
		{name: "PROVIDER is enabled with its current default model", env: map[string]string{"PROVIDER": "openai"},
			wantModels: map[string]string{"procedural": "procedural-v1", "openai": "gpt-image-2"}},
		{name: "every hosted provider, one model configured", env: map[string]string{
			"PROVIDER": "gemini", "PROVIDERS": "openai, gemini,stability,replicate", "GEMINI_MODEL": "gemini-3-pro-image",
		}, wantModels: map[string]string{"openai": "gpt-image-2", "gemini": "gemini-3-pro-image",
			"stability": "sd3.5-large", "replicate": "black-forest-labs/flux-2-pro"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load(func(k string) string { return tt.env[k] })
			require.NoError(t, err)
			got := system.Providers(cfg, func(string) string { return "" })
			models := map[string]string{}
			for name, p := range got {
				require.Equal(t, name, p.Name())
				models[name] = p.DefaultModel()
			}
			require.Equal(t, tt.wantModels, models)
		})
	}
}

// Without its key a hosted adapter makes no call: every candidate gets an
// auth outcome naming the variable.
func TestProviderWithoutKeyIsAnAuthOutcome(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PROVIDER": "openai", "PROVIDERS": "openai,gemini,stability,replicate"}[k]
	})
	require.NoError(t, err)
	providers := system.Providers(cfg, func(string) string { return "" })
	names := slices.Sorted(maps.Keys(providers))
	require.Equal(t, []string{"gemini", "openai", "replicate", "stability"}, names)
	want := map[string]string{"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY", "stability": "STABILITY_API_KEY", "replicate": "REPLICATE_API_TOKEN"}
	for _, name := range names {
		_, err := providers[name].Generate(context.Background(), generation.ProviderRequest{Prompt: "coat"})
		pe, ok := generation.AsProviderError(err)
		require.True(t, ok, "%s: %v", name, err)
		require.Equal(t, generation.ProviderAuth, pe.Kind)
		require.Contains(t, pe.Reason, want[name])
	}
}

func TestAutoChooserUsesEnabledProviders(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PROVIDERS": "openai,stability", "PROVIDER": "auto"}[k]
	})
	require.NoError(t, err)
	p, m, err := system.AutoChooser(cfg, nil).Choose(context.Background())
	require.NoError(t, err)
	require.Equal(t, "stability", p, "cheapest expected cost without history")
	require.Equal(t, "sd3.5-large", m)
}

func TestAllowedModels(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PROVIDERS": "replicate", "REPLICATE_MODEL": "acme/flux-own", "ALLOWED_MODELS": "replicate:acme/flux-x,openai:gpt-image-9"}[k]
	})
	require.NoError(t, err)
	got := system.AllowedModels(cfg, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	require.Equal(t, map[string][]string{
		"procedural": {"procedural-v1", "procedural-jpeg"},
		"replicate":  {"black-forest-labs/flux-2-pro", "black-forest-labs/flux-1.1-pro", "black-forest-labs/flux-schnell", "acme/flux-own", "acme/flux-x"},
	}, got, "openai is not enabled, so its addition allows nothing")
}
