package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
)

func TestCreateGenerationRoundTrip(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	id := generation.NewID()
	g := newGeneration(t, st, 4, func(g *generation.Generation) {
		g.ID = id
		g.ReferenceKey = generation.ReferenceKey(id, "png")
		g.ReferenceContentType = "image/png"
		g.ReferenceFeatures = generation.ReferenceFeatures{Width: 64, Height: 32, Format: "png",
			Palette: []generation.Color{{R: 200, G: 10, B: 20, Weight: 0.75}}}
		g.Settings.BufferPercent = generation.BufferPercent{Percent: 0}
		g.Settings.Strict = true
		g.IdempotencyKey = "key-1"
		g.CreatedAt = t0
	})
	require.Equal(t, id, g.ID)
	require.Equal(t, generation.StatusPlanning, g.Status)
	require.Equal(t, t0, g.CreatedAt.UTC())
	require.InDelta(t, 0.95, g.TargetConfidence, 1e-9, "target confidence comes from the settings")
	require.Nil(t, g.CompletedAt)

	loaded, err := st.Generation(ctx, id)
	require.NoError(t, err)
	require.Equal(t, g, loaded)
	require.Equal(t, "references/"+id+".png", loaded.ReferenceKey)
	require.Equal(t, 4, loaded.RequestedCount)
	require.False(t, loaded.Settings.BufferPercent.Auto, "0 %% stays a fixed 0 %%")
	require.True(t, loaded.Settings.Strict)
	require.Equal(t, uint8(200), loaded.ReferenceFeatures.Palette[0].R)
	require.Equal(t, "key-1", loaded.IdempotencyKey)
}

func TestCreateGenerationIdempotency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		first       func(*generation.Generation)
		second      func(*generation.Generation)
		wantCreated bool
	}{
		{
			name:        "same user and key returns the first",
			first:       func(g *generation.Generation) { g.IdempotencyKey = "k" },
			second:      func(g *generation.Generation) { g.IdempotencyKey = "k"; g.BasePrompt = "other" },
			wantCreated: false,
		},
		{
			name:        "same key of another user is a new generation",
			first:       func(g *generation.Generation) { g.IdempotencyKey = "k" },
			second:      func(g *generation.Generation) { g.IdempotencyKey = "k"; g.UserID = "user-2" },
			wantCreated: true,
		},
		{
			name:        "no key never collides",
			first:       func(g *generation.Generation) {},
			second:      func(g *generation.Generation) {},
			wantCreated: true,
		},
		{
			name:        "another key is a new generation",
			first:       func(g *generation.Generation) { g.IdempotencyKey = "a" },
			second:      func(g *generation.Generation) { g.IdempotencyKey = "b" },
			wantCreated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, _ := newStore(t)
			first := newGeneration(t, st, 2, tt.first)
			g := generation.Generation{UserID: "user-1", RequestedCount: 3, Provider: "procedural", Settings: first.Settings}
			tt.second(&g)
			second, created, err := st.CreateGeneration(t.Context(), g)
			require.NoError(t, err)
			require.Equal(t, tt.wantCreated, created)
			if tt.wantCreated {
				require.NotEqual(t, first.ID, second.ID)
				return
			}
			require.Equal(t, first, second, "the stored generation, not the new request")
		})
	}
}

func TestCreateGenerationRejects(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	existing := newGeneration(t, st, 1, nil)
	tests := []struct {
		name string
		edit func(*generation.Generation)
		code string
	}{
		{"malformed id", func(g *generation.Generation) { g.ID = "not-a-uuid" }, generation.EINVALID},
		{"id taken", func(g *generation.Generation) { g.ID = existing.ID }, generation.ECONFLICT},
		{"count above 100", func(g *generation.Generation) { g.RequestedCount = 101 }, generation.EINVALID},
		{"unknown status", func(g *generation.Generation) { g.Status = "processing" }, generation.EINVALID},
		{"final without completed_at", func(g *generation.Generation) { g.Status = generation.StatusDelivered }, generation.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := generation.Generation{UserID: "user-1", RequestedCount: 1, Provider: "procedural", Settings: existing.Settings}
			tt.edit(&g)
			_, _, err := st.CreateGeneration(t.Context(), g)
			requireCode(t, tt.code, err)
		})
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	st, _, g, c := seededOne(t)
	ctx := t.Context()
	calls := map[string]func(id string) error{
		"Generation":   func(id string) error { _, err := st.Generation(ctx, id); return err },
		"SetExecution": func(id string) error { return st.SetExecution(ctx, id, "arn") },
		"SavePlan":     func(id string) error { _, err := st.SavePlan(ctx, id, generation.RoundPlan{Round: 1}, nil); return err },
		"Candidate":    func(id string) error { _, err := st.Candidate(ctx, id, validator); return err },
		"Candidates":   func(id string) error { _, err := st.Candidates(ctx, id, validator); return err },
		"SaveGenerated": func(id string) error {
			c := c
			c.ID = id
			c.Status = generation.CandidateFailed
			return st.SaveGenerated(ctx, c)
		},
		"SaveVerdict": func(id string) error {
			_, err := st.SaveVerdict(ctx, id, generation.Verdict{ValidatorVersion: validator})
			return err
		},
		"MarkCandidateErrored": func(id string) error { _, err := st.MarkCandidateErrored(ctx, id, "x"); return err },
		"SaveSelection":        func(id string) error { return st.SaveSelection(ctx, id, generation.Selection{Round: 1}) },
		"SaveDelivery": func(id string) error {
			return st.SaveDelivery(ctx, id, generation.Delivery{Status: generation.StatusFailed})
		},
		"MarkGenerationFailed": func(id string) error { return st.MarkGenerationFailed(ctx, id, "x", t0) },
	}
	ids := []struct {
		name string
		id   string
	}{
		{"unknown uuid", generation.NewID()},
		{"malformed", "nope"},
		{"empty", ""},
		{"uuid of the wrong kind", c.ID}, // a candidate id where a generation is meant, and the reverse
	}
	for name, call := range calls {
		for _, id := range ids {
			t.Run(name+"/"+id.name, func(t *testing.T) {
				t.Parallel()
				probe := id.id
				if id.id == c.ID {
					switch name {
					case "Candidate", "SaveGenerated", "SaveVerdict", "MarkCandidateErrored":
						probe = g.ID
					}
				}
				requireCode(t, generation.ENOTFOUND, call(probe))
			})
		}
	}
}

func TestSetExecution(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	g := newGeneration(t, st, 1, nil)
	arn := "arn:aws:states:eu-west-1:123456789012:execution:generation:" + g.ID
	require.NoError(t, st.SetExecution(ctx, g.ID, arn))
	require.NoError(t, st.SetExecution(ctx, g.ID, arn), "idempotent")
	loaded, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, arn, loaded.ExecutionARN)
}

func TestSavePlan(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	g := newGeneration(t, st, 3, nil)
	p := 0.97
	plan := generation.RoundPlan{Round: 1, Needed: 3, Count: 4, BufferPercent: 33.33, BufferMethod: generation.BufferFixed, PredictedDeliveryProbability: &p}
	want := generation.NewCandidates(g, plan, fixedChooser{{"golden hour", `say "cheese", {now}\`}, {}}.choice(plan.Count))

	first, err := st.SavePlan(ctx, g.ID, plan, want)
	require.NoError(t, err)
	require.Len(t, first, 4)
	for i, c := range first {
		require.True(t, generation.IsUUID(c.ID))
		require.Equal(t, g.ID, c.GenerationID)
		require.Equal(t, i, c.Index)
		require.Equal(t, generation.CandidatePlanned, c.Status)
		require.Equal(t, want[i].Prompt, c.Prompt)
		if len(want[i].Modifiers) > 0 {
			require.Equal(t, want[i].Modifiers, c.Modifiers)
		} else {
			require.Nil(t, c.Modifiers, "no modifiers read back as nil")
		}
		require.Equal(t, want[i].Seed, c.Seed)
		require.Equal(t, "proc-1", c.Model)
		require.Nil(t, c.Verdict)
		require.Nil(t, c.Rank)
	}
	require.Equal(t, []string{"golden hour", `say "cheese", {now}\`}, first[0].Modifiers, "array quoting survives")
	require.Nil(t, first[1].Modifiers)

	// A retried plan keeps the rows: same ids, nothing added.
	changed := generation.NewCandidates(g, plan, fixedChooser{{"neon glow"}}.choice(plan.Count))
	again, err := st.SavePlan(ctx, g.ID, plan, changed)
	require.NoError(t, err)
	require.Equal(t, first, again)

	loaded, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusGenerating, loaded.Status)
	require.Equal(t, 1, loaded.Rounds)
	require.Equal(t, 4, loaded.PlannedCount)
	require.InDelta(t, 33.33, loaded.BufferPercent, 1e-9)
	require.Equal(t, generation.BufferFixed, loaded.BufferMethod)
	require.NotNil(t, loaded.PredictedDeliveryProbability)
	require.InDelta(t, 0.97, *loaded.PredictedDeliveryProbability, 1e-9)

	// A top-up round adds its own candidates.
	top := generation.RoundPlan{Round: 2, Needed: 1, Count: 2, BufferPercent: 50, BufferMethod: generation.BufferAuto}
	second, err := st.SavePlan(ctx, g.ID, top, generation.NewCandidates(g, top, generation.ModifierChoice{}))
	require.NoError(t, err)
	require.Len(t, second, 2)
	require.Equal(t, 2, second[0].Round)
	// The generation keeps round 1's plan (the request's buffer and its
	// promise), also after a late retry of round 1.
	_, err = st.SavePlan(ctx, g.ID, plan, want)
	require.NoError(t, err)
	loaded, err = st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, 2, loaded.Rounds)
	require.Equal(t, 6, loaded.PlannedCount)
	require.InDelta(t, plan.BufferPercent, loaded.BufferPercent, 1e-9)
	require.NotNil(t, loaded.PredictedDeliveryProbability)
	require.InDelta(t, 0.97, *loaded.PredictedDeliveryProbability, 1e-9)

	all, err := st.Candidates(ctx, g.ID, validator)
	require.NoError(t, err)
	require.Len(t, all, 6)
	for i := 1; i < len(all); i++ {
		prev, cur := all[i-1], all[i]
		require.True(t, prev.Round < cur.Round || prev.Round == cur.Round && prev.Index < cur.Index, "by round and index")
	}

	t.Run("wrong round", func(t *testing.T) {
		cands := generation.NewCandidates(g, top, generation.ModifierChoice{})
		_, err := st.SavePlan(ctx, g.ID, plan, cands)
		requireCode(t, generation.EINVALID, err)
	})
	t.Run("final generation", func(t *testing.T) {
		require.NoError(t, st.MarkGenerationFailed(ctx, g.ID, "boom", t0))
		_, err := st.SavePlan(ctx, g.ID, top, generation.NewCandidates(g, top, generation.ModifierChoice{}))
		requireCode(t, generation.ECONFLICT, err)
	})
}

func TestCandidatesOfGenerationWithoutAny(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	g := newGeneration(t, st, 1, nil)
	cands, err := st.Candidates(t.Context(), g.ID, validator)
	require.NoError(t, err)
	require.Empty(t, cands)
}

func TestSaveGenerated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		outcome func(c generation.Candidate) generation.Candidate
		check   func(t *testing.T, c generation.Candidate)
	}{
		{
			name: "stored",
			outcome: func(c generation.Candidate) generation.Candidate {
				c.Status, c.ObjectKey, c.ContentType = generation.CandidateStored, "generations/x/1/0.png", "image/png"
				c.Width, c.Height, c.Bytes, c.CostUSD, c.LatencyMS, c.Model = 512, 256, 4096, 0.0425, 900, "proc-2"
				return c
			},
			check: func(t *testing.T, c generation.Candidate) {
				require.Equal(t, generation.CandidateStored, c.Status)
				require.Equal(t, "generations/x/1/0.png", c.ObjectKey)
				require.Equal(t, "image/png", c.ContentType)
				require.Equal(t, []int{512, 256, 4096, 900}, []int{c.Width, c.Height, c.Bytes, c.LatencyMS})
				require.InDelta(t, 0.0425, c.CostUSD, 1e-9)
				require.Equal(t, "proc-2", c.Model, "the model the provider reported")
			},
		},
		{
			name: "filtered",
			outcome: func(c generation.Candidate) generation.Candidate {
				c.Status, c.FailureReason, c.Model = generation.CandidateFiltered, "filtered: nsfw", ""
				return c
			},
			check: func(t *testing.T, c generation.Candidate) {
				require.Equal(t, generation.CandidateFiltered, c.Status)
				require.Equal(t, "filtered: nsfw", c.FailureReason)
				require.Equal(t, "proc-1", c.Model, "an empty model keeps the planned one")
				require.Empty(t, c.ObjectKey)
				require.Zero(t, c.Width)
			},
		},
		{
			name: "failed",
			outcome: func(c generation.Candidate) generation.Candidate {
				c.Status, c.FailureReason, c.CostUSD = generation.CandidateFailed, "invalid_request", 0.01
				return c
			},
			check: func(t *testing.T, c generation.Candidate) {
				require.Equal(t, generation.CandidateFailed, c.Status)
				require.Equal(t, "invalid_request", c.FailureReason)
				require.InDelta(t, 0.01, c.CostUSD, 1e-9)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, _, _, c := seededOne(t)
			ctx := t.Context()
			require.NoError(t, st.SaveGenerated(ctx, tt.outcome(c)))
			loaded, err := st.Candidate(ctx, c.ID, validator)
			require.NoError(t, err)
			tt.check(t, loaded)

			// A second outcome for the same candidate changes nothing.
			other := c
			other.Status, other.FailureReason = generation.CandidateFailed, "late retry"
			require.NoError(t, st.SaveGenerated(ctx, other))
			again, err := st.Candidate(ctx, c.ID, validator)
			require.NoError(t, err)
			require.Equal(t, loaded, again)
		})
	}
}

func TestSaveGeneratedRejects(t *testing.T) {
	t.Parallel()
	st, _, _, c := seededOne(t)
	ctx := t.Context()
	tests := []struct {
		name string
		edit func(*generation.Candidate)
	}{
		{"not an outcome", func(c *generation.Candidate) { c.Status = generation.CandidateSelected }},
		{"stored without a key", func(c *generation.Candidate) { c.Status = generation.CandidateStored }},
		{"negative cost", func(c *generation.Candidate) { c.Status = generation.CandidateFailed; c.CostUSD = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := c
			tt.edit(&bad)
			requireCode(t, generation.EINVALID, st.SaveGenerated(ctx, bad))
		})
	}
	loaded, err := st.Candidate(ctx, c.ID, validator)
	require.NoError(t, err)
	require.Equal(t, generation.CandidatePlanned, loaded.Status)
}

func TestSaveVerdict(t *testing.T) {
	t.Parallel()
	st, pool, g, planned := seededOne(t)
	ctx := t.Context()
	c := storeImage(t, st, planned)

	v := generation.Verdict{ValidatorVersion: validator, Score: 64.5, Passed: false, Flagged: true,
		Metrics: map[string]float64{"sharpness": 0.2, "exposure": 0.9}, Reasons: []string{"blurry: variance 12 < 50"}}
	stored, err := st.SaveVerdict(ctx, c.ID, v)
	require.NoError(t, err)
	require.Equal(t, v, stored)

	// A second verdict for the same version keeps the first.
	second, err := st.SaveVerdict(ctx, c.ID, generation.Verdict{ValidatorVersion: validator, Score: 99, Passed: true})
	require.NoError(t, err)
	require.Equal(t, v, second)
	require.Equal(t, 1, countRows(t, pool, `SELECT count(*) FROM validation_results WHERE candidate_id = $1`, c.ID))

	loaded, err := st.Candidate(ctx, c.ID, validator)
	require.NoError(t, err)
	require.Equal(t, generation.CandidateValidated, loaded.Status)
	require.Equal(t, &v, loaded.Verdict)

	// Another validator version is a separate verdict.
	other, err := st.Candidate(ctx, c.ID, "v2")
	require.NoError(t, err)
	require.Nil(t, other.Verdict)
	v2, err := st.SaveVerdict(ctx, c.ID, generation.Verdict{ValidatorVersion: "v2", Score: 71.256, Passed: true})
	require.NoError(t, err)
	require.InDelta(t, 71.26, v2.Score, 1e-9, "score is numeric(5,2)")
	require.Nil(t, v2.Reasons)
	require.Nil(t, v2.Metrics)

	t.Run("rejects", func(t *testing.T) {
		planned := planRound(t, st, g, 2, 1)[0]
		_, err := st.SaveVerdict(ctx, planned.ID, generation.Verdict{ValidatorVersion: validator, Score: 80, Passed: true})
		requireCode(t, generation.ECONFLICT, err)
		_, err = st.SaveVerdict(ctx, c.ID, generation.Verdict{ValidatorVersion: "v3", Score: 101})
		requireCode(t, generation.EINVALID, err)
		_, err = st.SaveVerdict(ctx, c.ID, generation.Verdict{Score: 50})
		requireCode(t, generation.EINVALID, err)
	})
}

func TestMarkCandidateErrored(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, st *postgres.Store, c generation.Candidate)
		want    generation.CandidateStatus
	}{
		{"planned", func(*testing.T, *postgres.Store, generation.Candidate) {}, generation.CandidateErrored},
		{"stored", func(t *testing.T, st *postgres.Store, c generation.Candidate) { storeImage(t, st, c) }, generation.CandidateErrored},
		{"validated keeps its outcome", func(t *testing.T, st *postgres.Store, c generation.Candidate) { validate(t, st, c, 80) }, generation.CandidateValidated},
		{"filtered keeps its outcome", func(t *testing.T, st *postgres.Store, c generation.Candidate) { filterCandidate(t, st, c, "filtered") }, generation.CandidateFiltered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, pool, _, c := seededOne(t)
			ctx := t.Context()
			tt.prepare(t, st, c)
			before := outcomeTotal(t, pool)
			got, err := st.MarkCandidateErrored(ctx, c.ID, "dependency_unavailable: down")
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Status)
			again, err := st.MarkCandidateErrored(ctx, c.ID, "again")
			require.NoError(t, err, "idempotent")
			require.Equal(t, got, again)
			if tt.want == generation.CandidateErrored {
				require.Equal(t, "dependency_unavailable: down", got.FailureReason)
				require.Empty(t, got.ObjectKey, "an errored candidate keeps no image")
			}
			// An errored candidate is no outcome: the counters do not move.
			require.Equal(t, before, outcomeTotal(t, pool))
			requireMatchesRebuild(t, st, pool)
		})
	}
}

func TestSaveSelection(t *testing.T) {
	t.Parallel()
	st, _, g, _ := seeded(t, 2, 3)
	ctx := t.Context()
	sel := generation.Selection{Round: 1, Generated: 3, Passed: 1, Shortfall: 1, CostUSD: 0.12, TopUp: true, NextRound: 2}
	require.NoError(t, st.SaveSelection(ctx, g.ID, sel))
	loaded, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusSelecting, loaded.Status)
	require.Equal(t, []int{1, 3, 1}, []int{loaded.Rounds, loaded.GeneratedCount, loaded.PassedCount})
	require.InDelta(t, 0.12, loaded.CostUSD, 1e-9)

	require.NoError(t, st.MarkGenerationFailed(ctx, g.ID, "x", t0))
	requireCode(t, generation.ECONFLICT, st.SaveSelection(ctx, g.ID, sel))
}

func TestSaveDelivery(t *testing.T) {
	t.Parallel()
	st, pool, g, cands := seeded(t, 2, 4)
	ctx := t.Context()
	validate(t, st, cands[0], 75)
	validate(t, st, cands[1], 95)
	validate(t, st, cands[2], 88)
	failCandidate(t, st, cands[3].ID, "timeout")

	d := deliver(t, st, g)
	require.Equal(t, generation.StatusDelivered, d.Status)

	all, err := st.Candidates(ctx, g.ID, validator)
	require.NoError(t, err)
	byIndex := map[int]generation.Candidate{}
	for _, c := range all {
		byIndex[c.Index] = c
	}
	require.Equal(t, generation.CandidateSelected, byIndex[1].Status)
	require.Equal(t, ptr(1), byIndex[1].Rank)
	require.Equal(t, generation.CandidateSelected, byIndex[2].Status)
	require.Equal(t, ptr(2), byIndex[2].Rank)
	require.Equal(t, generation.CandidateDiscarded, byIndex[0].Status)
	require.Nil(t, byIndex[0].Rank)
	require.Equal(t, generation.CandidateFailed, byIndex[3].Status)

	loaded, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, loaded.Status)
	require.Equal(t, []int{2, 3, 4}, []int{loaded.DeliveredCount, loaded.PassedCount, loaded.GeneratedCount})
	require.InDelta(t, 0.12, loaded.CostUSD, 1e-9)
	require.Empty(t, loaded.Error)
	require.NotNil(t, loaded.CompletedAt)
	require.Equal(t, t0, loaded.CompletedAt.UTC())
	// The feedback is stored with the selection (R8), one row per candidate.
	eventIDs := make([]string, len(d.Feedback))
	for i, e := range d.Feedback {
		eventIDs[i] = e.EventID
	}
	require.Len(t, eventIDs, 4)
	storedFeedback := func() int {
		return countRows(t, pool, `SELECT count(*) FROM rlhf_feedback WHERE event_id = ANY($1::uuid[])`, eventIDs)
	}
	require.Equal(t, 4, storedFeedback())

	t.Run("retry is a no-op", func(t *testing.T) {
		require.NoError(t, st.SaveDelivery(ctx, g.ID, d))
		require.Equal(t, 4, storedFeedback())
	})
	t.Run("another final status conflicts", func(t *testing.T) {
		other := d
		other.Status = generation.StatusPartial
		requireCode(t, generation.ECONFLICT, st.SaveDelivery(ctx, g.ID, other))
	})
	t.Run("a non-final status is invalid", func(t *testing.T) {
		requireCode(t, generation.EINVALID, st.SaveDelivery(ctx, g.ID, generation.Delivery{Status: generation.StatusSelecting}))
	})
}

func TestSaveDeliveryIsOneTransaction(t *testing.T) {
	t.Parallel()
	st, pool, g, c := seededOne(t)
	ctx := t.Context()
	validate(t, st, c, 90)
	otherGen := newGeneration(t, st, 1, nil)
	foreign := planRound(t, st, otherGen, 1, 1)[0]
	validate(t, st, foreign, 90)

	all, err := st.Candidates(ctx, g.ID, validator)
	require.NoError(t, err)
	d := generation.Delivery{
		Status:      generation.StatusDelivered,
		Selected:    []generation.Candidate{{ID: c.ID, Rank: ptr(1)}},
		Discarded:   []generation.Candidate{{ID: foreign.ID}},
		CompletedAt: t0,
		Feedback:    generation.Deliver(g, all, t0).Feedback,
	}
	require.NotEmpty(t, d.Feedback)
	requireCode(t, generation.EINVALID, st.SaveDelivery(ctx, g.ID, d))
	require.Zero(t, countRows(t, pool, `SELECT count(*) FROM rlhf_feedback WHERE event_id = $1::uuid`, d.Feedback[0].EventID),
		"the feedback was rolled back with the selection")
	loaded, err := st.Candidate(ctx, c.ID, validator)
	require.NoError(t, err)
	require.Equal(t, generation.CandidateValidated, loaded.Status, "the selection was rolled back")
	gen, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusGenerating, gen.Status)
}

func TestSaveDeliveryFailedWithReason(t *testing.T) {
	t.Parallel()
	st, _, g, cands := seeded(t, 2, 2)
	ctx := t.Context()
	for _, c := range cands {
		failCandidate(t, st, c.ID, "unavailable")
	}
	d := deliver(t, st, g)
	require.Equal(t, generation.StatusFailed, d.Status)
	loaded, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusFailed, loaded.Status)
	require.Equal(t, d.Reason, loaded.Error)
	require.Zero(t, loaded.DeliveredCount)
}

func TestMarkGenerationFailed(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	g := newGeneration(t, st, 1, nil)
	require.NoError(t, st.MarkGenerationFailed(ctx, g.ID, "States.Timeout", t0))
	loaded, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusFailed, loaded.Status)
	require.Equal(t, "States.Timeout", loaded.Error)
	require.Equal(t, t0, loaded.CompletedAt.UTC())

	// Final: a second failure changes nothing.
	require.NoError(t, st.MarkGenerationFailed(ctx, g.ID, "other", t0.Add(time.Hour)))
	again, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, loaded, again)

	// A delivered generation stays delivered.
	d := newGeneration(t, st, 1, nil)
	c := planRound(t, st, d, 1, 1)[0]
	validate(t, st, c, 90)
	deliver(t, st, d)
	require.NoError(t, st.MarkGenerationFailed(ctx, d.ID, "late", t0))
	delivered, err := st.Generation(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, delivered.Status)
	require.Empty(t, delivered.Error)
}

// TestStoreWithPreparedStatements runs the main path with pgx's default
// exec mode (cached prepared statements) as well; the other tests use
// QueryExecModeExec.
func TestStoreWithPreparedStatements(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg, err := pgxpool.ParseConfig(pgtest.NewURL(t))
	require.NoError(t, err)
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := postgres.NewStore(pool)

	g := newGeneration(t, st, 1, func(g *generation.Generation) { g.IdempotencyKey = "k" })
	_, created, err := st.CreateGeneration(ctx, generation.Generation{UserID: g.UserID, IdempotencyKey: "k", RequestedCount: 1, Provider: "procedural"})
	require.NoError(t, err)
	require.False(t, created)
	c := planRound(t, st, g, 1, 1, []string{"calm"})[0]
	validate(t, st, c, 90)
	_, err = st.Generation(ctx, "nope")
	requireCode(t, generation.ENOTFOUND, err)
	d := deliver(t, st, g)
	n, err := st.InsertFeedback(ctx, d.Feedback)
	require.NoError(t, err)
	require.Equal(t, 0, n, "the delivery already stored its feedback")
	folded, err := st.FoldFeedback(ctx, 0.1)
	require.NoError(t, err)
	require.Equal(t, 2, folded, "the delivery event and the high-quality row")
	stats, err := st.Recalibrate(ctx, t0)
	require.NoError(t, err)
	require.Len(t, stats, 1)
}
