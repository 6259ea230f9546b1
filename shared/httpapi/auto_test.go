package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
)

// settings.provider "auto" is resolved once, at creation, from the stored
// provider statistics: the generation records the chosen provider and model.
func TestCreateAutoProvider(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 40, 40, 9)
	withChooser := func(e *env) {
		e.app.ProviderChooser = catalog.Chooser{
			Options: catalog.OptionsFor([]string{"openai", "stability"}, nil, time.Now()),
			Stats:   e.pg,
		}
	}
	type stat struct {
		provider, model  string
		passes, failures int
	}
	tests := []struct {
		name         string
		settings     map[string]any
		chooser      bool
		stats        []stat
		wantProvider string
		wantModel    string
		wantField    string // a 400 naming this field, nothing written
	}{
		{name: "no history: the cheapest", settings: map[string]any{"count": 2, "provider": "auto"}, chooser: true,
			wantProvider: "stability", wantModel: "sd3.5-large"},
		{name: "history: the cheapest per delivered image", settings: map[string]any{"count": 2, "provider": "AUTO"}, chooser: true,
			stats:        []stat{{"stability", "sd3.5-large", 2, 18}, {"openai", "gpt-image-2", 19, 1}},
			wantProvider: "openai", wantModel: "gpt-image-2"},
		{name: "a named provider is kept", settings: map[string]any{"count": 2, "provider": "gemini", "model": "gemini-3-pro-image"}, chooser: true,
			wantProvider: "gemini", wantModel: "gemini-3-pro-image"},
		{name: "auto with a model", settings: map[string]any{"count": 2, "provider": "auto", "model": "gpt-image-2"}, chooser: true, wantField: "model"},
		{name: "auto without a chooser", settings: map[string]any{"count": 2, "provider": "auto"}, wantField: "provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var configure []func(*env)
			if tt.chooser {
				configure = append(configure, withChooser)
			}
			e := newEnv(t, configure...)
			for _, s := range tt.stats {
				_, err := e.pool.Exec(t.Context(), `INSERT INTO provider_stats (provider, model, passes, failures, alpha, beta) VALUES ($1, $2, $3, $4, $5, $6)`,
					s.provider, s.model, s.passes, s.failures, 1+s.passes, 1+s.failures)
				require.NoError(t, err)
			}
			rec := e.do(t, request{method: http.MethodPost, path: "/v1/generations", user: "ann", contentType: "application/json",
				body: jsonBody(t, img, tt.settings)})
			if tt.wantField != "" {
				requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusBadRequest, generation.EINVALID, tt.wantField)
				e.requireNothingWritten(t)
				return
			}
			c := requireCreated(t, rec.Code, rec.Header(), rec.Body.Bytes())
			g, err := e.store.Generation(t.Context(), c.ID)
			require.NoError(t, err)
			require.Equal(t, tt.wantProvider, g.Provider)
			require.Equal(t, tt.wantModel, g.Model)
		})
	}
}
