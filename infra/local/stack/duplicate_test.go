package stack_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// A provider that returns the same picture twice must not fill the order
// with copies: the Select step fails the lower-ranked twin with "duplicate",
// the tally sees the true pass count and the top-up replaces it.
func TestNearDuplicatesFailAndAreToppedUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		settings    string
		wantDups    int // candidates failed as duplicates
		wantRounds  int
		wantStatus  generation.Status
		wantDeliver int
	}{
		// Round 1 makes 6 candidates from 3 pictures: 3 pass, 3 are twins.
		{name: "twins are topped up", settings: `{"count": 4, "bufferPercent": 50, "maxRounds": 3}`,
			wantDups: 3, wantRounds: 2, wantStatus: generation.StatusDelivered, wantDeliver: 4},
		// With autoValidate off nothing but undecodable images fails.
		{name: "autoValidate off keeps twins", settings: `{"count": 4, "bufferPercent": 50, "autoValidate": false}`,
			wantDups: 0, wantRounds: 1, wantStatus: generation.StatusDelivered, wantDeliver: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var provider *scripted
			provider = cleanProvider(func(req generation.ProviderRequest, _, call int) (generation.Image, error, bool) {
				if call > 6 {
					return generation.Image{}, nil, false
				}
				req.Seed, req.Prompt = int64(call%3), "the same picture"
				img, err := provider.inner.Generate(context.Background(), req)
				return img, err, true
			})
			h := newHarness(t, provider, nil)
			g, err := h.run(tt.settings)
			require.NoError(t, err)
			require.Equal(t, tt.wantStatus, g.Status, g.Error)
			require.Equal(t, tt.wantRounds, g.Rounds)
			require.Equal(t, tt.wantDeliver, g.DeliveredCount)

			dups, passed := 0, 0
			seen := map[string]bool{}
			for _, c := range h.candidates(g.ID) {
				require.NotNil(t, c.Verdict, "candidate %d/%d", c.Round, c.Index)
				require.NotEmpty(t, c.Verdict.Fingerprint)
				if c.Verdict.Passed {
					passed++
				}
				for _, r := range c.Verdict.Reasons {
					if r == generation.ReasonDuplicate {
						dups++
						require.False(t, c.Verdict.Passed)
						require.Equal(t, generation.CandidateDiscarded, c.Status)
					}
				}
				if c.Status == generation.CandidateSelected && tt.wantDups > 0 {
					require.False(t, seen[c.Verdict.Fingerprint], "two copies delivered")
					seen[c.Verdict.Fingerprint] = true
				}
			}
			require.Equal(t, tt.wantDups, dups)
			require.Equal(t, passed, g.PassedCount, "the stored tally counts duplicates as failed")
			require.Equal(t, tt.wantDups, h.count(`SELECT count(*) FROM rlhf_feedback f WHERE f.generation_id = $1 AND 'duplicate' = ANY (f.reasons)`, g.ID),
				"the learner hears why")
		})
	}
}
