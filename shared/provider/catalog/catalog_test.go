package catalog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
)

var today = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestDefaultModelsAreCurrentAndPriced(t *testing.T) {
	t.Parallel()
	for _, p := range []string{catalog.OpenAI, catalog.Gemini, catalog.Stability, catalog.Replicate, catalog.Procedural} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			m := catalog.DefaultModel(p)
			require.NotEmpty(t, m)
			_, announced := catalog.RetirementOf(p, m)
			require.False(t, announced, "default %s/%s has a shutdown date", p, m)
			entry, ok := catalog.Lookup(p, m)
			require.True(t, ok, "default %s/%s has no price", p, m)
			require.Greater(t, entry.ImageUSD, 0.0)
			require.NotEmpty(t, entry.Source)
		})
	}
}

func TestRetired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		provider, model string
		at              time.Time
		want            bool
	}{
		{catalog.OpenAI, "dall-e-3", today, true},
		{catalog.OpenAI, "DALL-E-2", today, true},
		{catalog.OpenAI, "gpt-image-1.5", today, false}, // shuts down 2026-12-01
		{catalog.OpenAI, "gpt-image-1.5", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{catalog.Gemini, "imagen-4.0-generate-001", today, true},
		{catalog.Gemini, "gemini-2.5-flash-image", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), false},
		{catalog.Gemini, "gemini-2.5-flash-image", today, true},
		{catalog.Gemini, "gemini-3.1-flash-image", today, false},
		{catalog.OpenAI, "gemini-2.5-flash-image", today, false}, // another provider's id
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.model, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, catalog.Retired(tt.provider, tt.model, tt.at))
		})
	}
}

func TestCost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		provider, model string
		images, refs    int
		want            float64
	}{
		{"one image", catalog.Stability, "sd3.5-large", 1, 1, 0.065},
		{"three images", catalog.OpenAI, "gpt-image-2", 3, 0, 0.21},
		{"reference billed", catalog.Replicate, "black-forest-labs/flux-2-pro", 1, 1, 0.04},
		{"nothing returned costs nothing", catalog.Replicate, "black-forest-labs/flux-2-pro", 0, 1, 0},
		{"unknown model at the provider's dearest price", catalog.Gemini, "gemini-9-image", 1, 0, 0.134},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tt.want, catalog.Cost(tt.provider, tt.model, tt.images, tt.refs), 1e-9)
		})
	}
}

func TestRank(t *testing.T) {
	t.Parallel()
	cheap := catalog.Option{Provider: "replicate", Model: "flux", ImageUSD: 0.02}
	dear := catalog.Option{Provider: "openai", Model: "gpt", ImageUSD: 0.07}
	mid := catalog.Option{Provider: "gemini", Model: "gem", ImageUSD: 0.04}
	tests := []struct {
		name  string
		stats []generation.ProviderStats
		want  []string
		rate  float64 // the winner's pass rate
	}{
		{name: "no history: the prior, so the cheapest", want: []string{"replicate", "gemini", "openai"}, rate: 0.5},
		{name: "a cheap provider that rarely passes loses", stats: []generation.ProviderStats{
			{Provider: "replicate", Model: "flux", Passes: 1, Failures: 19, Alpha: 2, Beta: 20}, // 0.02/0.0909 = 0.22
			{Provider: "openai", Model: "gpt", Passes: 38, Failures: 0, Alpha: 39, Beta: 1},     // 0.07/0.975 = 0.0718
			{Provider: "gemini", Model: "gem", Passes: 10, Failures: 10, Alpha: 11, Beta: 11},   // 0.04/0.5 = 0.08
		}, want: []string{"openai", "gemini", "replicate"}, rate: 39.0 / 40},
		{name: "statistics of another model do not count", stats: []generation.ProviderStats{
			{Provider: "replicate", Model: "other", Passes: 0, Failures: 50, Alpha: 1, Beta: 51},
		}, want: []string{"replicate", "gemini", "openai"}, rate: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := catalog.Rank([]catalog.Option{dear, cheap, mid}, tt.stats)
			var names []string
			for _, c := range got {
				names = append(names, c.Provider)
				require.InDelta(t, c.ImageUSD/c.PassRate, c.ExpectedUSD, 1e-12)
			}
			require.Equal(t, tt.want, names)
			require.InDelta(t, tt.rate, got[0].PassRate, 1e-12)
		})
	}
}

type statsReader struct {
	stats []generation.ProviderStats
	err   error
}

func (s statsReader) StoredProviderStats(context.Context) ([]generation.ProviderStats, error) {
	return s.stats, s.err
}

func TestChooser(t *testing.T) {
	t.Parallel()
	broken := errors.New("database down")
	tests := []struct {
		name      string
		providers []string
		models    map[string]string
		stats     statsReader
		want      string
		wantModel string
		wantErr   error
	}{
		{name: "cheapest default without history", providers: []string{"openai", "stability", "gemini"},
			want: "stability", wantModel: "sd3.5-large"},
		{name: "configured model, retired ones left out", providers: []string{"openai", "gemini"},
			models: map[string]string{"gemini": "gemini-2.5-flash-image"}, want: "openai", wantModel: "gpt-image-2"},
		{name: "history moves the choice", providers: []string{"openai", "stability"},
			stats: statsReader{stats: []generation.ProviderStats{{Provider: "stability", Model: "sd3.5-large", Failures: 30, Alpha: 1, Beta: 31}}},
			want:  "openai", wantModel: "gpt-image-2"},
		{name: "nothing enabled", providers: nil, wantErr: catalog.ErrNoProvider},
		{name: "statistics unreadable", providers: []string{"openai"}, stats: statsReader{err: broken}, wantErr: broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := catalog.Chooser{Options: catalog.OptionsFor(tt.providers, tt.models, today), Stats: tt.stats}
			p, m, err := c.Choose(context.Background())
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, p)
			require.Equal(t, tt.wantModel, m)
		})
	}
}

func TestChooserDropsAModelThatRetiresWhileItLives(t *testing.T) {
	t.Parallel()
	c := catalog.Chooser{
		Options: catalog.OptionsFor([]string{"openai", "gemini"}, map[string]string{"openai": "gpt-image-1.5"}, today),
		Now:     func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) },
	}
	require.Len(t, c.Options, 2, "gpt-image-1.5 still runs on %v", today)
	p, m, err := c.Choose(context.Background())
	require.NoError(t, err)
	require.Equal(t, "gemini", p, "gpt-image-1.5 (cheaper) shut down on 2026-12-01")
	require.Equal(t, "gemini-3.1-flash-image", m)
}

func TestCurrent(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"gpt-image-2", "gpt-image-1.5"}, catalog.Current(catalog.OpenAI, today))
	require.Equal(t, []string{"gpt-image-2"}, catalog.Current(catalog.OpenAI, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), "shut down on its day")
	require.Equal(t, []string{"black-forest-labs/flux-2-pro", "black-forest-labs/flux-1.1-pro", "black-forest-labs/flux-schnell"}, catalog.Current(catalog.Replicate, today))
	require.Empty(t, catalog.Current("nobody", today))
	for _, p := range []string{catalog.OpenAI, catalog.Gemini, catalog.Stability, catalog.Replicate, catalog.Procedural} {
		for _, m := range catalog.Current(p, today) {
			require.True(t, generation.ValidModelID(m), "%s %s has the shape requests are checked against", p, m)
		}
	}
}
