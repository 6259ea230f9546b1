package sfnlocal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

type ProviderUnavailable struct{}

func (*ProviderUnavailable) Error() string { return "provider unavailable" }

type InvalidImage struct{ Reason string }

func (e *InvalidImage) Error() string { return "invalid image: " + e.Reason }

// pipeline is a set of in-process handlers for the generation-like machine,
// recording what they were called with.
type pipeline struct {
	mu          sync.Mutex
	throttled   map[string]int
	selectSaw   []json.RawMessage
	markedItems map[string]string // candidate → error name
	failedWith  json.RawMessage

	planErr, selectErr error
}

type genIn struct {
	GenerationID string          `json:"generationId"`
	Round        int             `json:"round"`
	CandidateID  string          `json:"candidateId"`
	Index        int             `json:"index"`
	Results      json.RawMessage `json:"results"`
	Chosen       []string        `json:"chosen"`
	Error        json.RawMessage `json:"error"`
}

func (p *pipeline) resources() map[string]sfnlocal.Invoker {
	handler := func(fn func(genIn) (any, error)) sfnlocal.Invoker {
		return sfnlocal.LambdaInvoker(func(_ context.Context, in genIn) (any, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			return fn(in)
		})
	}
	return map[string]sfnlocal.Invoker{
		"arn:plan": handler(func(in genIn) (any, error) {
			if p.planErr != nil {
				return nil, p.planErr
			}
			n := map[int]int{1: 4, 2: 2, 3: 1}[in.Round]
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("%s-r%d-c%d", in.GenerationID, in.Round, i)
			}
			return map[string]any{"candidateIds": ids}, nil
		}),
		"arn:generate": handler(func(in genIn) (any, error) {
			switch in.CandidateID {
			case "g1-r1-c1":
				p.throttled[in.CandidateID]++
				if p.throttled[in.CandidateID] <= 2 {
					return nil, &ProviderThrottled{Message: "429"}
				}
			case "g1-r1-c2":
				return nil, fmt.Errorf("generate %s: %w", in.CandidateID, &ProviderUnavailable{})
			case "g1-r1-c3":
				return map[string]any{"stored": false}, nil
			}
			return map[string]any{"stored": true, "key": in.CandidateID + ".png"}, nil
		}),
		"arn:validate": handler(func(in genIn) (any, error) {
			if in.CandidateID == "g1-r2-c1" {
				return nil, &InvalidImage{Reason: "blank"}
			}
			return map[string]any{"score": 80, "passed": true, "debug": "dropped by ResultSelector"}, nil
		}),
		"arn:mark-candidate-failed": handler(func(in genIn) (any, error) {
			var name string
			if err := json.Unmarshal(in.Error, &name); err != nil {
				return nil, err
			}
			p.markedItems[in.CandidateID] = name
			return map[string]any{"failed": in.CandidateID}, nil
		}),
		"arn:select": handler(func(in genIn) (any, error) {
			p.selectSaw = append(p.selectSaw, in.Results)
			if p.selectErr != nil {
				return nil, p.selectErr
			}
			// Always short: the Choice's round guard ends the loop.
			return map[string]any{"topUp": true, "nextRound": in.Round + 1, "chosen": []string{"g1-r1-c0", "g1-r2-c0"}}, nil
		}),
		"arn:deliver": handler(func(in genIn) (any, error) {
			return map[string]any{"delivered": in.Chosen, "generationId": in.GenerationID}, nil
		}),
		"arn:mark-failed": handler(func(in genIn) (any, error) {
			p.failedWith = in.Error
			return map[string]any{"ignored": true}, nil
		}),
	}
}

var substitutions = map[string]string{
	"PlanFunctionArn":                "arn:plan",
	"GenerateImageFunctionArn":       "arn:generate",
	"ValidateImageFunctionArn":       "arn:validate",
	"MarkCandidateFailedFunctionArn": "arn:mark-candidate-failed",
	"SelectFunctionArn":              "arn:select",
	"DeliverFunctionArn":             "arn:deliver",
	"MarkFailedFunctionArn":          "arn:mark-failed",
	"MapConcurrency":                 "2",
}

func loadGeneration(t *testing.T, p *pipeline, rec *recorder) *sfnlocal.Machine {
	t.Helper()
	def, err := os.ReadFile("testdata/generation-like.asl.json")
	require.NoError(t, err)
	opts := append(rec.options(), sfnlocal.WithJitter(func() float64 { return 0.5 }))
	m, err := sfnlocal.Load(def, substitutions, p.resources(), opts...)
	require.NoError(t, err)
	return m
}

func TestGenerationLikeDefinitionSucceeds(t *testing.T) {
	t.Parallel()
	p := &pipeline{throttled: map[string]int{}, markedItems: map[string]string{}}
	rec := &recorder{}
	m := loadGeneration(t, p, rec)

	out, err := m.Execute(context.Background(), "g1-exec", []byte(`{"generationId":"g1","round":1}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"delivered":["g1-r1-c0","g1-r2-c0"],"generationId":"g1"}`, string(out))

	require.Equal(t, []string{
		"Plan", "Candidates", "Select", "TopUp?", "NextRound",
		"Plan", "Candidates", "Select", "TopUp?", "NextRound",
		"Plan", "Candidates", "Select", "TopUp?", "Deliver",
	}, rec.visited(sfnlocal.StateEntered))
	// Round 1's c1 was throttled twice: FULL jitter (0.5) of 5s, then of 10s.
	require.Equal(t, []time.Duration{2500 * time.Millisecond, 5 * time.Second}, rec.sleeps)
	require.Len(t, p.selectSaw, 3)
	require.JSONEq(t, `[{"score":80,"passed":true},{"score":80,"passed":true},{"failed":"g1-r1-c2"},{"failed":"g1-r1-c3"}]`, string(p.selectSaw[0]))
	require.JSONEq(t, `[{"score":80,"passed":true},{"failed":"g1-r2-c1"}]`, string(p.selectSaw[1]))
	require.JSONEq(t, `[{"score":80,"passed":true}]`, string(p.selectSaw[2]))
	require.Equal(t, map[string]string{"g1-r1-c2": "wrapError", "g1-r1-c3": "NotStored", "g1-r2-c1": "InvalidImage"}, p.markedItems)

	// Inner events carry the Map state and item index.
	var caught []string
	for _, e := range rec.events {
		if e.Kind == sfnlocal.StateCaught && e.Map == "Candidates" {
			caught = append(caught, fmt.Sprintf("%d:%s:%s", e.Item, e.State, e.Error))
		}
	}
	sort.Strings(caught)
	require.Equal(t, []string{"1:ValidateImage:InvalidImage", "2:GenerateImage:wrapError"}, caught)
}

func TestGenerationLikeDefinitionFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		planErr    error
		selectErr  error
		wantSleeps []time.Duration
		wantError  string // the error MarkFailed received
		wantPath   []string
	}{
		{
			name:       "Plan retried then caught",
			planErr:    &ProviderUnavailable{},
			wantSleeps: []time.Duration{2 * time.Second, 4 * time.Second},
			wantError:  `{"Error":"ProviderUnavailable","Cause":"{\"errorMessage\":\"provider unavailable\",\"errorType\":\"ProviderUnavailable\"}"}`,
			wantPath:   []string{"Plan", "MarkFailed", "Failed"},
		},
		{
			name:      "Select failure caught",
			selectErr: fmt.Errorf("select: %w", &InvalidImage{Reason: "none"}),
			wantError: `{"Error":"wrapError","Cause":"{\"errorMessage\":\"select: invalid image: none\",\"errorType\":\"wrapError\"}"}`,
			wantPath:  []string{"Plan", "Candidates", "Select", "MarkFailed", "Failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &pipeline{throttled: map[string]int{}, markedItems: map[string]string{}, planErr: tt.planErr, selectErr: tt.selectErr}
			rec := &recorder{}
			m := loadGeneration(t, p, rec)
			_, err := m.Execute(context.Background(), "", []byte(`{"generationId":"g1","round":1}`))
			ee := requireExecErr(t, err, "GenerationFailed")
			require.Equal(t, "the generation could not complete", ee.Cause)
			require.JSONEq(t, tt.wantError, string(p.failedWith))
			require.Equal(t, tt.wantPath, rec.visited(sfnlocal.StateEntered))
			if tt.wantSleeps != nil {
				require.Equal(t, tt.wantSleeps, rec.sleeps)
			}
		})
	}
}
