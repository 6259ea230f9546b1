package postgres_test

import (
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const validator = "v1"

// t0 is the fixed clock of these tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewDB(t)
	return postgres.NewStore(pool), pool
}

// seeded is the common start of a test: a store with a generation for count
// images whose round 1 planned n candidates (modifiers as in planRound).
func seeded(t *testing.T, count, n int, mods ...[]string) (*postgres.Store, *pgxpool.Pool, generation.Generation, []generation.Candidate) {
	t.Helper()
	st, pool := newStore(t)
	g := newGeneration(t, st, count, nil)
	return st, pool, g, planRound(t, st, g, 1, n, mods...)
}

// seededOne is seeded for one image with one planned candidate.
func seededOne(t *testing.T, mods ...[]string) (*postgres.Store, *pgxpool.Pool, generation.Generation, generation.Candidate) {
	t.Helper()
	st, pool, g, cands := seeded(t, 1, 1, mods...)
	return st, pool, g, cands[0]
}

// fixedChooser hands out modifier lists in order.
type fixedChooser [][]string

func (f fixedChooser) choice(count int) generation.ModifierChoice {
	out := make([][]string, count)
	for i := range out {
		out[i] = f[i%len(f)]
	}
	return generation.ModifierChoice{Modifiers: out}
}

// newGeneration creates a generation for count images; edit adjusts it first.
func newGeneration(t *testing.T, st *postgres.Store, count int, edit func(*generation.Generation)) generation.Generation {
	t.Helper()
	settings, err := generation.ParseSettings([]byte(`{"count": 3}`), generation.Defaults{})
	require.NoError(t, err)
	settings.Count = count
	g := generation.Generation{
		UserID:         "user-1",
		RequestedCount: count,
		Settings:       settings,
		Provider:       "procedural",
		Model:          "proc-1",
		BasePrompt:     "a red coat",
	}
	if edit != nil {
		edit(&g)
	}
	stored, created, err := st.CreateGeneration(t.Context(), g)
	require.NoError(t, err)
	require.True(t, created)
	return stored
}

// planRound saves round `round` with n candidates whose modifiers cycle
// through mods.
func planRound(t *testing.T, st *postgres.Store, g generation.Generation, round, n int, mods ...[]string) []generation.Candidate {
	t.Helper()
	if len(mods) == 0 {
		mods = [][]string{{"soft daylight"}}
	}
	plan := generation.RoundPlan{Round: round, Needed: g.RequestedCount, Count: n, BufferPercent: 20, BufferMethod: generation.BufferAuto}
	cands, err := st.SavePlan(t.Context(), g.ID, plan, generation.NewCandidates(g, plan, fixedChooser(mods).choice(plan.Count)))
	require.NoError(t, err)
	require.Len(t, cands, n)
	return cands
}

// storeImage records a stored image for c.
func storeImage(t *testing.T, st *postgres.Store, c generation.Candidate) generation.Candidate {
	t.Helper()
	c.Status = generation.CandidateStored
	c.ObjectKey = generation.ObjectKey(c.GenerationID, c.Round, c.Index, "png")
	c.ContentType = "image/png"
	c.Width, c.Height, c.Bytes = 512, 512, 2048
	c.CostUSD = 0.04
	c.LatencyMS = 120
	require.NoError(t, st.SaveGenerated(t.Context(), c))
	return c
}

// failCandidate records a provider failure (a planned candidate only).
func failCandidate(t *testing.T, st *postgres.Store, id, reason string) {
	t.Helper()
	require.NoError(t, st.SaveGenerated(t.Context(), generation.Candidate{ID: id, Status: generation.CandidateFailed, FailureReason: reason}))
}

// filterCandidate records that the provider's safety filter refused c.
func filterCandidate(t *testing.T, st *postgres.Store, c generation.Candidate, reason string) {
	t.Helper()
	c.Status, c.FailureReason = generation.CandidateFiltered, reason
	require.NoError(t, st.SaveGenerated(t.Context(), c))
}

// validate stores c's image and a verdict with score (passing at ≥ 70).
func validate(t *testing.T, st *postgres.Store, c generation.Candidate, score float64, reasons ...string) generation.Verdict {
	t.Helper()
	storeImage(t, st, c)
	v, err := st.SaveVerdict(t.Context(), c.ID, generation.Verdict{
		ValidatorVersion: validator, Score: score, Passed: score >= 70, Reasons: reasons,
		Metrics: map[string]float64{"sharpness": score / 100},
	})
	require.NoError(t, err)
	return v
}

// deliver selects from g's candidates as the pipeline does and saves the
// delivery.
func deliver(t *testing.T, st *postgres.Store, g generation.Generation) generation.Delivery {
	t.Helper()
	all, err := st.Candidates(t.Context(), g.ID, validator)
	require.NoError(t, err)
	d := generation.Deliver(g, all, t0)
	require.NoError(t, st.SaveDelivery(t.Context(), g.ID, d))
	return d
}

func requireCode(t *testing.T, code string, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, generation.ErrorCode(err), "error: %v", err)
}

func ptr[T any](v T) *T { return &v }
