package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/config"
)

func TestLoadProviders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        map[string]string
		want       []string
		wantModels map[string]string
		wantErr    []string
	}{
		{name: "default", want: []string{"procedural"}},
		{name: "PROVIDER is always enabled", env: map[string]string{"PROVIDER": "OpenAI"}, want: []string{"procedural", "openai"}},
		{name: "auto adds nothing", env: map[string]string{"PROVIDER": "auto", "PROVIDERS": "gemini, replicate,gemini"}, want: []string{"gemini", "replicate"}},
		{name: "models", env: map[string]string{"PROVIDERS": "openai", "OPENAI_MODEL": "gpt-image-1.5", "REPLICATE_MODEL": "black-forest-labs/flux-schnell"},
			want: []string{"openai", "procedural"}, wantModels: map[string]string{"openai": "gpt-image-1.5", "gemini": "", "stability": "", "replicate": "black-forest-labs/flux-schnell"}},
		{name: "unknown names are reported", env: map[string]string{"PROVIDER": "dalle", "PROVIDERS": "openai,midjourney"},
			wantErr: []string{`PROVIDERS="openai,midjourney": unknown provider "midjourney"`, `PROVIDER="dalle" must be auto or one of`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(env(tt.env))
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					require.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Providers)
			if tt.wantModels != nil {
				require.Equal(t, tt.wantModels, c.Models)
			}
		})
	}
}
