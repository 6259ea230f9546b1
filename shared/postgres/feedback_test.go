package postgres_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
)

// event builds a feedback event about c.
func event(c generation.Candidate, typ generation.FeedbackType, at time.Time, edit func(*generation.FeedbackEvent)) generation.FeedbackEvent {
	passed := typ == generation.FeedbackSelected || typ == generation.FeedbackDiscarded
	e := generation.FeedbackEvent{
		EventID:      generation.EventID("test", c.ID, string(typ), at.String()),
		GenerationID: c.GenerationID,
		CandidateID:  c.ID,
		Provider:     c.Provider,
		Model:        c.Model,
		Type:         typ,
		Source:       generation.SourceValidationFilter,
		Passed:       &passed,
		Negative:     typ != generation.FeedbackSelected,
		Positive:     typ == generation.FeedbackSelected,
		Weight:       1,
		Modifiers:    c.Modifiers,
		CreatedAt:    at,
	}
	if edit != nil {
		edit(&e)
	}
	return e
}

// asUserRating makes an event a user's rating: no absolute outcome, not
// negative, from the user.
func asUserRating(e *generation.FeedbackEvent) {
	e.Passed, e.Negative, e.Source = nil, false, generation.SourceUserAction
}

// insertFeedback stores events and returns how many were new.
func insertFeedback(t *testing.T, st *postgres.Store, events ...generation.FeedbackEvent) int {
	t.Helper()
	n, err := st.InsertFeedback(t.Context(), events)
	require.NoError(t, err)
	return n
}

// fold folds the unprocessed feedback with discount and returns how many
// rows it folded.
func fold(t *testing.T, st *postgres.Store, discount float64) int {
	t.Helper()
	n, err := st.FoldFeedback(t.Context(), discount)
	require.NoError(t, err)
	return n
}

func countRows(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

func TestHighQualityTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		score      float64
		passed     bool
		laterScore float64 // the score the three updates set
		want       int
	}{
		{name: "score 90 updated three times gives one row", score: 90, passed: true, laterScore: 90, want: 1},
		{name: "score 85 is enough", score: 85, passed: true, laterScore: 85, want: 1},
		{name: "score 80 gives none", score: 80, passed: true, laterScore: 80, want: 0},
		{name: "score 80 raised to 92 gives one", score: 80, passed: true, laterScore: 92, want: 1},
		{name: "a failed verdict is no positive example", score: 90, passed: false, laterScore: 90, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, pool, _, planned := seededOne(t, []string{"golden hour", "calm"})
			ctx := t.Context()
			c := storeImage(t, st, planned)
			_, err := st.SaveVerdict(ctx, c.ID, generation.Verdict{ValidatorVersion: validator, Score: tt.score, Passed: tt.passed, Reasons: []string{"ok"}})
			require.NoError(t, err)
			for i := range 3 {
				_, err := pool.Exec(ctx, `UPDATE validation_results SET score = $2, flagged = $3 WHERE candidate_id = $1`,
					c.ID, tt.laterScore, i%2 == 0)
				require.NoError(t, err)
			}
			_, err = st.SaveVerdict(ctx, c.ID, generation.Verdict{ValidatorVersion: validator, Score: tt.score, Passed: tt.passed})
			require.NoError(t, err)

			require.Equal(t, tt.want, countRows(t, pool, `SELECT count(*) FROM rlhf_feedback WHERE candidate_id = $1`, c.ID))
			if tt.want == 0 {
				return
			}
			var (
				typ, source, prompt, provider string
				positive, negative, passed    bool
				mods                          []string
				sameID                        bool
			)
			require.NoError(t, pool.QueryRow(ctx, `
				SELECT feedback_type, feedback_source, prompt, provider, is_positive, is_negative, passed, modifiers,
				       event_id = md5('high_quality:' || candidate_id::text || ':' || $2)::uuid
				FROM rlhf_feedback WHERE candidate_id = $1`, c.ID, validator).
				Scan(&typ, &source, &prompt, &provider, &positive, &negative, &passed, &mods, &sameID))
			require.Equal(t, "high_quality", typ)
			require.Equal(t, "validation_trigger", source)
			require.Equal(t, c.Prompt, prompt)
			require.Equal(t, "procedural", provider)
			require.True(t, positive)
			require.False(t, negative)
			require.True(t, passed)
			require.Equal(t, []string{"golden hour", "calm"}, mods)
			require.True(t, sameID, "the event id is derived from candidate and validator version")
		})
	}
}

func TestInsertFeedback(t *testing.T) {
	t.Parallel()
	st, pool, _, cands := seeded(t, 2, 3)
	ctx := t.Context()
	score := 72.5
	events := []generation.FeedbackEvent{
		event(cands[0], generation.FeedbackSelected, t0, func(e *generation.FeedbackEvent) {
			e.QualityScore = &score
			e.Reasons = []string{"sharp"}
			e.Metadata = map[string]any{"round": 1}
			e.Prompt = cands[0].Prompt
		}),
		event(cands[1], generation.FeedbackFailed, t0, nil),
		event(cands[2], generation.FeedbackUserRating, t0, func(e *generation.FeedbackEvent) {
			asUserRating(e)
			e.CandidateID = ""
		}),
	}
	require.Equal(t, 3, insertFeedback(t, st, events...))

	tests := []struct {
		name   string
		events []generation.FeedbackEvent
		want   int
	}{
		{"redelivered batch adds nothing", events, 0},
		{"one new among old ones", append(events[:1:1], event(cands[1], generation.FeedbackDiscarded, t0, nil)), 1},
		{"a duplicate inside one batch counts once", []generation.FeedbackEvent{event(cands[2], generation.FeedbackFailed, t0, nil), event(cands[2], generation.FeedbackFailed, t0, nil)}, 1},
		{"none", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := st.InsertFeedback(ctx, tt.events)
			require.NoError(t, err)
			require.Equal(t, tt.want, n)
		})
	}
	require.Equal(t, 5, countRows(t, pool, `SELECT count(*) FROM rlhf_feedback`))

	var (
		gotScore float64
		passed   *bool
		meta     map[string]any
		reasons  []string
	)
	require.NoError(t, pool.QueryRow(ctx, `SELECT quality_score::float8, passed, metadata, reasons FROM rlhf_feedback WHERE event_id = $1`,
		events[0].EventID).Scan(&gotScore, &passed, &meta, &reasons))
	require.InDelta(t, 72.5, gotScore, 1e-9)
	require.Equal(t, ptr(true), passed)
	require.Equal(t, map[string]any{"round": float64(1)}, meta)
	require.Equal(t, []string{"sharp"}, reasons)
	require.NoError(t, pool.QueryRow(ctx, `SELECT passed FROM rlhf_feedback WHERE event_id = $1`, events[2].EventID).Scan(&passed))
	require.Nil(t, passed, "a user rating says nothing about the absolute outcome")

	t.Run("an invalid event stores nothing", func(t *testing.T) {
		fresh := event(cands[0], generation.FeedbackFailed, t0.Add(time.Hour), nil)
		badType := event(cands[1], "liked", t0, nil)
		_, err := st.InsertFeedback(ctx, []generation.FeedbackEvent{fresh, badType})
		requireCode(t, generation.EINVALID, err)
		badWeight := event(cands[1], generation.FeedbackFailed, t0.Add(time.Hour), func(e *generation.FeedbackEvent) { e.Weight = -1 })
		_, err = st.InsertFeedback(ctx, []generation.FeedbackEvent{fresh, badWeight})
		requireCode(t, generation.EINVALID, err)
		require.Zero(t, countRows(t, pool, `SELECT count(*) FROM rlhf_feedback WHERE event_id = $1`, fresh.EventID))
	})
}

func TestFeedbackViews(t *testing.T) {
	t.Parallel()
	st, pool, _, cands := seeded(t, 2, 4, []string{"neon glow"}, []string{"calm", "airy"})
	ctx := t.Context()
	for _, c := range cands {
		storeImage(t, st, c)
	}
	s40, s60, s95 := 40.0, 60.0, 95.0
	oldNeg := event(cands[0], generation.FeedbackFailed, t0, func(e *generation.FeedbackEvent) {
		e.QualityScore, e.Reasons = &s40, []string{"blurry"}
	})
	newNeg := event(cands[1], generation.FeedbackDiscarded, t0.Add(time.Minute), func(e *generation.FeedbackEvent) {
		e.QualityScore, e.Reasons, e.Weight, e.Modifiers = &s60, []string{"surplus"}, 0.25, nil
	})
	pos := event(cands[2], generation.FeedbackSelected, t0.Add(2*time.Minute), func(e *generation.FeedbackEvent) {
		e.QualityScore = &s95
	})
	neutral := event(cands[3], generation.FeedbackUserRating, t0.Add(3*time.Minute), asUserRating)
	insertFeedback(t, st, oldNeg, newNeg, pos, neutral)

	type example struct {
		EventID   string
		ObjectKey string
		Prompt    string
		Modifiers []string
		Reasons   []string
		Score     float64
	}
	examples := func(view string) []example {
		rows, err := pool.Query(ctx, `SELECT event_id::text, object_key, prompt, modifiers, reasons, score::float8 FROM `+view)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (example, error) {
			var e example
			err := row.Scan(&e.EventID, &e.ObjectKey, &e.Prompt, &e.Modifiers, &e.Reasons, &e.Score)
			return e, err
		})
		require.NoError(t, err)
		return out
	}
	key := func(c generation.Candidate) string {
		return generation.ObjectKey(c.GenerationID, c.Round, c.Index, "png")
	}

	require.Equal(t, []example{
		// Newest first; the candidate's prompt and modifiers fill in what the event left out.
		{newNeg.EventID, key(cands[1]), cands[1].Prompt, []string{"calm", "airy"}, []string{"surplus"}, 60},
		{oldNeg.EventID, key(cands[0]), cands[0].Prompt, []string{"neon glow"}, []string{"blurry"}, 40},
	}, examples("rlhf_negative_examples"))
	require.Equal(t, []example{
		{pos.EventID, key(cands[2]), cands[2].Prompt, []string{"neon glow"}, []string{}, 95},
	}, examples("rlhf_positive_examples"))

	type summary struct {
		Type, Source                        string
		Total, Negatives, Positives, Passes int
		Failures, Unprocessed               int
		AvgScore                            *float64
	}
	rows, err := pool.Query(ctx, `
		SELECT feedback_type, feedback_source, total, negatives, positives, passes, failures, unprocessed, avg_score::float8
		FROM rlhf_feedback_summary WHERE provider = 'procedural' ORDER BY feedback_type`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (summary, error) {
		var s summary
		err := row.Scan(&s.Type, &s.Source, &s.Total, &s.Negatives, &s.Positives, &s.Passes, &s.Failures, &s.Unprocessed, &s.AvgScore)
		return s, err
	})
	require.NoError(t, err)
	require.Equal(t, []summary{
		{"discarded", "validation_filter", 1, 1, 0, 1, 0, 1, &s60},
		{"failed", "validation_filter", 1, 1, 0, 0, 1, 1, &s40},
		{"selected", "validation_filter", 1, 0, 1, 1, 0, 1, &s95},
		{"user_rating", "user_action", 1, 0, 0, 0, 0, 1, nil},
	}, got)

	// Folding marks the rows processed, which the summary shows.
	fold(t, st, 0.1)
	require.Zero(t, countRows(t, pool, `SELECT sum(unprocessed) FROM rlhf_feedback_summary`))
}

func TestTrainingData(t *testing.T) {
	t.Parallel()
	st, pool := newStore(t)
	ctx := t.Context()
	proc := newGeneration(t, st, 1, nil)
	oa := newGeneration(t, st, 1, func(g *generation.Generation) { g.Provider, g.Model = "openai", "gpt-image-1" })
	pc := planRound(t, st, proc, 1, 3, []string{"calm"})
	oc := planRound(t, st, oa, 1, 1, []string{"airy"})
	events := []generation.FeedbackEvent{
		event(pc[0], generation.FeedbackSelected, t0, nil),
		event(pc[1], generation.FeedbackFailed, t0.Add(1*time.Minute), nil),
		event(oc[0], generation.FeedbackDiscarded, t0.Add(2*time.Minute), nil),
		event(pc[2], generation.FeedbackUserRating, t0.Add(3*time.Minute), asUserRating),
	}
	insertFeedback(t, st, events...)

	type row struct {
		EventID, Provider, Label string
		Modifiers                []string
	}
	tests := []struct {
		name     string
		provider *string
		limit    *int
		since    *time.Time
		want     []row
	}{
		{
			name: "one provider, newest first", provider: ptr("procedural"),
			want: []row{
				{events[3].EventID, "procedural", "neutral", []string{"calm"}},
				{events[1].EventID, "procedural", "negative", []string{"calm"}},
				{events[0].EventID, "procedural", "positive", []string{"calm"}},
			},
		},
		{
			name: "all providers with a limit", limit: ptr(2),
			want: []row{
				{events[3].EventID, "procedural", "neutral", []string{"calm"}},
				{events[2].EventID, "openai", "negative", []string{"airy"}},
			},
		},
		{
			name: "since", provider: ptr("procedural"), since: ptr(t0.Add(30 * time.Second)),
			want: []row{
				{events[3].EventID, "procedural", "neutral", []string{"calm"}},
				{events[1].EventID, "procedural", "negative", []string{"calm"}},
			},
		},
		{name: "unknown provider", provider: ptr("stability"), want: []row{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limit := 1000
			if tt.limit != nil {
				limit = *tt.limit
			}
			rows, err := pool.Query(ctx, `SELECT event_id::text, provider, label, modifiers FROM get_rlhf_training_data($1, $2, $3)`,
				tt.provider, limit, tt.since)
			require.NoError(t, err)
			got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
				var x row
				err := r.Scan(&x.EventID, &x.Provider, &x.Label, &x.Modifiers)
				return x, err
			})
			require.NoError(t, err)
			if len(tt.want) == 0 {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tt.want, got)
		})
	}

	// The defaults: all rows, limit 1000.
	require.Equal(t, 4, countRows(t, pool, `SELECT count(*) FROM get_rlhf_training_data(NULL)`))
}

type stat struct {
	Passes, Failures float64
	Samples          int
}

func attributeStats(t *testing.T, pool *pgxpool.Pool) map[string]stat {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT provider || '/' || attribute, passes, failures, samples FROM attribute_stats`)
	require.NoError(t, err)
	out := map[string]stat{}
	for rows.Next() {
		var (
			k string
			s stat
		)
		require.NoError(t, rows.Scan(&k, &s.Passes, &s.Failures, &s.Samples))
		out[k] = s
	}
	require.NoError(t, rows.Err())
	return out
}

func requireStats(t *testing.T, want, got map[string]stat) {
	t.Helper()
	require.Len(t, got, len(want), "got %v", got)
	for k, w := range want {
		g, ok := got[k]
		require.True(t, ok, "no stats for %s", k)
		require.InDelta(t, w.Passes, g.Passes, 1e-9, "%s passes", k)
		require.InDelta(t, w.Failures, g.Failures, 1e-9, "%s failures", k)
		require.Equal(t, w.Samples, g.Samples, "%s samples", k)
	}
}

func TestFoldFeedback(t *testing.T) {
	t.Parallel()
	st, pool := newStore(t)
	ctx := t.Context()
	g := newGeneration(t, st, 1, nil)
	oa := newGeneration(t, st, 1, func(g *generation.Generation) { g.Provider = "openai" })
	c := planRound(t, st, g, 1, 1)[0]
	o := planRound(t, st, oa, 1, 1)[0]
	f, tr := false, true
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	events := []generation.FeedbackEvent{
		event(c, generation.FeedbackSelected, at(1), func(e *generation.FeedbackEvent) { e.Modifiers = []string{"a", "b"} }),
		event(c, generation.FeedbackFailed, at(2), func(e *generation.FeedbackEvent) { e.Modifiers = []string{"a"} }),
		event(c, generation.FeedbackDiscarded, at(3), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Weight, e.Passed = []string{"b", "b"}, 0.25, &tr // a modifier listed twice counts once
		}),
		event(o, generation.FeedbackFailed, at(4), func(e *generation.FeedbackEvent) { e.Modifiers = []string{"a"} }),
		event(c, generation.FeedbackUserRating, at(5), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Passed, e.Negative, e.Source = []string{"a"}, nil, false, generation.SourceUserAction
		}),
		event(c, generation.FeedbackHighQuality, at(6), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Passed, e.Negative, e.Positive, e.Source = []string{"a"}, &tr, false, true, generation.SourceValidationTrigger
		}),
		event(c, generation.FeedbackFiltered, at(7), func(e *generation.FeedbackEvent) { e.Modifiers, e.Passed = nil, &f }),
		// User ratings count with their own weight and polarity.
		event(c, generation.FeedbackUserRating, at(8), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Passed, e.Negative, e.Positive, e.Weight, e.Source = []string{"b"}, nil, false, true, 2, generation.SourceUserAction
		}),
		event(c, generation.FeedbackUserRating, at(9), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Passed, e.Negative, e.Weight, e.Source = []string{"b"}, nil, true, 1, generation.SourceUserAction
		}),
	}
	insertFeedback(t, st, events...)

	require.Equal(t, len(events), fold(t, st, 0.5), "every unprocessed row is folded (marked processed)")
	want := map[string]stat{
		"procedural/a": {Passes: 1, Failures: 1, Samples: 2},
		// The surplus image counts as one pass (its 0.25 is a ranking weight);
		// the ratings add 2 passes and 1 failure.
		"procedural/b": {Passes: 1 + 1 + 2, Failures: 1, Samples: 4},
		"openai/a":     {Passes: 0, Failures: 1, Samples: 1},
	}
	requireStats(t, want, attributeStats(t, pool))
	require.Zero(t, countRows(t, pool, `SELECT count(*) FROM rlhf_feedback WHERE processed_at IS NULL`))

	require.Zero(t, fold(t, st, 0.5), "nothing is folded twice")
	requireStats(t, want, attributeStats(t, pool))

	// New outcomes decay only the attributes they touch.
	insertFeedback(t, st, event(c, generation.FeedbackSelected, at(10), func(e *generation.FeedbackEvent) { e.Modifiers = []string{"a"} }))
	require.Equal(t, 1, fold(t, st, 0.5))
	want["procedural/a"] = stat{Passes: 1*0.5 + 1, Failures: 1 * 0.5, Samples: 3}
	requireStats(t, want, attributeStats(t, pool))

	t.Run("discount out of range", func(t *testing.T) {
		for _, d := range []float64{-0.1, 1.5} {
			_, err := st.FoldFeedback(ctx, d)
			requireCode(t, generation.EINVALID, err)
		}
	})
}

func TestFoldFeedbackConcurrently(t *testing.T) {
	t.Parallel()
	st, pool, _, c := seededOne(t)
	ctx := t.Context()
	const (
		rounds    = 6
		perRound  = 40
		folders   = 4
		modifiers = 5
	)
	wantPasses := map[string]float64{}
	wantFailures := map[string]float64{}
	batch := func(r int) []generation.FeedbackEvent {
		var events []generation.FeedbackEvent
		for i := range perRound {
			k := r*perRound + i
			mod := fmt.Sprintf("m%d", k%modifiers)
			passed := k%3 != 0
			if passed {
				wantPasses[mod]++
			} else {
				wantFailures[mod]++
			}
			events = append(events, event(c, generation.FeedbackFailed, t0.Add(time.Duration(k)*time.Millisecond), func(e *generation.FeedbackEvent) {
				e.EventID = generation.EventID("concurrent", fmt.Sprint(k))
				e.Modifiers, e.Passed = []string{mod}, &passed
			}))
		}
		return events
	}

	// Each round releases one insert and several folds at once, so folds
	// race each other and the insert over the same unprocessed rows.
	folded := 0
	for r := range rounds {
		events := batch(r)
		start := make(chan struct{})
		results := make(chan int, folders+1)
		errs := make(chan error, folders+1)
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			if _, err := st.InsertFeedback(ctx, events); err != nil {
				errs <- err
			}
		})
		for range folders {
			wg.Go(func() {
				<-start
				n, err := st.FoldFeedback(ctx, 0)
				if err != nil {
					errs <- err
				}
				results <- n
			})
		}
		close(start)
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for n := range results {
			folded += n
		}
	}
	folded += fold(t, st, 0)

	require.Equal(t, rounds*perRound, folded, "every row folded exactly once")
	require.Zero(t, countRows(t, pool, `SELECT count(*) FROM rlhf_feedback WHERE processed_at IS NULL`))
	got := attributeStats(t, pool)
	require.Len(t, got, modifiers)
	for mod, p := range wantPasses {
		s := got["procedural/"+mod]
		require.InDelta(t, p, s.Passes, 1e-9, mod)
		require.InDelta(t, wantFailures[mod], s.Failures, 1e-9, mod)
		require.Equal(t, int(p+wantFailures[mod]), s.Samples, mod)
	}
}

func TestRecalibrate(t *testing.T) {
	t.Parallel()
	st, pool, proc, pc := seeded(t, 1, 7)
	ctx := t.Context()

	validate(t, st, pc[0], 80)
	validate(t, st, pc[1], 90)
	validate(t, st, pc[2], 40, "blurry: variance 3 < 50", "dark: mean 0.08")
	filterCandidate(t, st, pc[3], "filtered: safety")
	failCandidate(t, st, pc[4].ID, "timeout")
	storeImage(t, st, pc[5]) // stored, not validated: no outcome yet
	// pc[6] stays planned.
	deliver(t, st, proc) // pc[1] selected, pc[0] and pc[2] discarded

	oa := newGeneration(t, st, 1, func(g *generation.Generation) { g.Provider, g.Model = "openai", "" })
	oc := planRound(t, st, oa, 1, 2)
	validate(t, st, oc[0], 75)
	validate(t, st, oc[1], 30)

	want := []generation.ProviderStats{
		{Provider: "openai", Model: "", Passes: 1, Failures: 1, Alpha: 1.5, Beta: 1.5,
			FailuresByReason: map[string]int{"below_threshold": 1},
			Scored:           2, ScoreMean: 52.5, ScoreStdDev: 22.5, MeanCostUSD: 0.04,
			Recommendations: []generation.Recommendation{}},
		{Provider: "procedural", Model: "proc-1", Passes: 2, Failures: 3, Alpha: 2.5, Beta: 3.5,
			FailuresByReason: map[string]int{"blurry": 1, "dark": 1, "filtered": 1, "timeout": 1},
			// Scores 80, 90, 40; the filtered and failed candidates cost nothing.
			Scored: 3, ScoreMean: 70, ScoreStdDev: math.Sqrt(1400.0 / 3), MeanCostUSD: 0.12 / 5,
			Recommendations: []generation.Recommendation{}},
	}
	for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
		if i == 2 {
			// The counters the triggers kept are what a full recomputation gives.
			_, err := pool.Exec(ctx, `SELECT rebuild_provider_outcomes()`)
			require.NoError(t, err)
		}
		stats, err := st.Recalibrate(ctx, at)
		require.NoError(t, err, "run %d", i)
		for j := range want {
			want[j].ComputedAt = at
		}
		for j := range stats {
			stats[j].ComputedAt = stats[j].ComputedAt.UTC()
			require.InDelta(t, want[j].ScoreStdDev, stats[j].ScoreStdDev, 1e-9)
			require.InDelta(t, want[j].MeanCostUSD, stats[j].MeanCostUSD, 1e-12)
			stats[j].ScoreStdDev, stats[j].MeanCostUSD = want[j].ScoreStdDev, want[j].MeanCostUSD
		}
		require.Equal(t, want, stats, "run %d", i)
	}

	// PASS_RATE_PRIOR is a query parameter: Beta(a + passes, a + failures).
	st.PassRatePrior = 2
	stats, err := st.Recalibrate(ctx, t0)
	require.NoError(t, err)
	require.Equal(t, [4]float64{3, 3, 4, 5}, [4]float64{stats[0].Alpha, stats[0].Beta, stats[1].Alpha, stats[1].Beta})
}

var _ generation.Store = (*postgres.Store)(nil)
