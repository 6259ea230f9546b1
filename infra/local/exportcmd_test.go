package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
)

func TestExportTraining(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	store := postgres.NewStore(pool)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	gen := generation.NewID()
	var evs []generation.FeedbackEvent
	for i, spec := range []struct {
		provider string
		typ      generation.FeedbackType
		passed   bool
	}{
		{"procedural", generation.FeedbackSelected, true},
		{"procedural", generation.FeedbackFailed, false},
		{"openai", generation.FeedbackSelected, true},
		{"procedural", generation.FeedbackDiscarded, true},
	} {
		passed := spec.passed
		score := 50 + float64(i)*10
		evs = append(evs, generation.FeedbackEvent{
			EventID: generation.EventID("export", fmt.Sprint(i)), GenerationID: gen, Provider: spec.provider,
			Type: spec.typ, Source: generation.SourceValidationFilter, Passed: &passed, QualityScore: &score,
			Positive: spec.typ == generation.FeedbackSelected, Negative: spec.typ != generation.FeedbackSelected,
			Weight: 1, Prompt: fmt.Sprintf("prompt %d", i), Modifiers: []string{"calm"}, Reasons: []string{fmt.Sprintf("r%d", i)},
			CreatedAt: t0.Add(time.Duration(i) * time.Hour),
		})
	}
	_, err := store.InsertFeedback(ctx, evs)
	require.NoError(t, err)

	tests := []struct {
		name       string
		provider   string
		since      *time.Time
		limit      int
		wantPrompt []string
		wantLabel  []string
	}{
		{"all of a provider, newest first", "procedural", nil, 10, []string{"prompt 3", "prompt 1", "prompt 0"}, []string{"negative", "negative", "positive"}},
		{"since", "procedural", ptrTo(t0.Add(time.Hour)), 10, []string{"prompt 3", "prompt 1"}, []string{"negative", "negative"}},
		{"limit", "procedural", nil, 1, []string{"prompt 3"}, []string{"negative"}},
		{"another provider", "openai", nil, 10, []string{"prompt 2"}, []string{"positive"}},
		{"unknown provider", "nobody", nil, 10, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			n, err := exportTraining(ctx, pool, &buf, tt.provider, tt.since, tt.limit)
			require.NoError(t, err)
			require.Equal(t, len(tt.wantPrompt), n)
			var prompts, labels []string
			sc := bufio.NewScanner(&buf)
			for sc.Scan() {
				var r trainingRow
				dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
				dec.DisallowUnknownFields()
				require.NoError(t, dec.Decode(&r))
				require.Equal(t, tt.provider, r.Provider)
				require.Equal(t, []string{"calm"}, r.Modifiers)
				require.NotNil(t, r.Score)
				require.Len(t, r.Reasons, 1)
				prompts = append(prompts, r.Prompt)
				labels = append(labels, r.Label)
			}
			require.Equal(t, tt.wantPrompt, prompts)
			require.Equal(t, tt.wantLabel, labels)
		})
	}
}

func TestExportTrainingRejectsBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no provider", nil, "--provider is required"},
		{"bad since", []string{"--provider", "p", "--since", "yesterday"}, "--since"},
		{"bad limit", []string{"--provider", "p", "--limit", "0"}, "--limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := exportTrainingCommand(t.Context(), tt.args, io.Discard, io.Discard)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
