package postgres_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
	"github.com/designerbff/pipeline/shared/postgres"
)

// monitoringClock is the fixed "now" of the monitoring tests (the session
// setting monitoring.now, read by monitoring.clock()).
const monitoringClock = "2026-03-01T12:00:00Z"

// monitoringFixture is a small history whose every monitoring figure is
// worked out by hand in TestMonitoringSections. Times are on 2026-03-01
// (T = 12:00Z) unless said otherwise; E is ten days earlier.
//
//	gen status     provider/model            count rounds created  completed
//	A   delivered  procedural/procedural-v1  2     1      10:00    10:01:00 (60 s)
//	B   delivered  openai/gpt-image-2        1     2      09:00    09:02:00 (120 s)
//	C   failed     procedural/procedural-v1  1     1      11:00    11:01:00
//	D   generating procedural/procedural-v1  4     0      11:00    — (no change since 11:00: stuck)
//	E   delivered  procedural/(none named)   1     1      02-19 12:00  12:00:30 (30 s)
//
//	cand round status     cost  created   generated verdict (score, passed, at)
//	a1   1     selected   0.01  10:00:05  10:00:15  92 pass 10:00:20
//	a2   1     selected   0.01  10:00:05  10:00:25  75 pass flagged 10:00:30
//	a3   1     discarded  0.01  10:00:05  10:00:35  81 pass 10:00:40 (surplus)
//	a4   1     filtered   0     10:00:05  10:00:45  — ("filtered: nsfw")
//	b1   1     discarded  0.07  09:00:10  09:00:20  55 fail 09:00:30 ("blurry: …")
//	b2   1     errored    0     09:00:10  09:00:40  — ("DependencyUnavailable: …")
//	b3   2     selected   0.07  09:01:00  09:01:20  85 pass 09:01:40
//	c1   1     failed     0     11:00:05  11:00:10  — ("invalid_request: …")
//	e1   1     selected   0.002 12:00:05  12:00:10  72 pass 12:00:15 (02-19)
//	e2   1     discarded  0.002 12:00:05  12:00:12  40 fail 12:00:18 ("underexposed", "noisy")
//
// Feedback: f1 a1 selected + (10:01, folded), f2 a4 filtered − (10:01, not
// folded), f3 b1 failed − (09:02, folded), f4 a2 user rating 2 − (11:30, not
// folded), f5 e1 selected + (02-19 12:01, folded), and the high_quality
// trigger's rows for a1 (92) and b3 (85), + (dated at their verdicts, folded).
// attribute_stats: procedural "soft light" 1 pass 4 failures 5 samples,
// "studio" 4/1/5, openai "night" 0/2/2.
const monitoringFixture = `
INSERT INTO generations (id, user_id, status, requested_count, provider, model, rounds,
    delivered_count, target_confidence, created_at, updated_at, completed_at, error) VALUES
 ('a0000000-0000-0000-0000-000000000000', 'u', 'delivered', 2, 'procedural', 'procedural-v1', 1, 2, 0.95,
  '2026-03-01 10:00Z', '2026-03-01 10:01Z', '2026-03-01 10:01Z', NULL),
 ('b0000000-0000-0000-0000-000000000000', 'u', 'delivered', 1, 'openai', 'gpt-image-2', 2, 1, 0.95,
  '2026-03-01 09:00Z', '2026-03-01 09:02Z', '2026-03-01 09:02Z', NULL),
 ('c0000000-0000-0000-0000-000000000000', 'u', 'failed', 1, 'procedural', 'procedural-v1', 1, 0, 0.95,
  '2026-03-01 11:00Z', '2026-03-01 11:01Z', '2026-03-01 11:01Z', 'no image passed'),
 ('e0000000-0000-0000-0000-000000000000', 'u', 'delivered', 1, 'procedural', '', 1, 1, 0.95,
  '2026-02-19 12:00Z', '2026-02-19 12:00:30Z', '2026-02-19 12:00:30Z', NULL);

INSERT INTO candidates (id, generation_id, round, index, provider, model, prompt, modifiers, seed,
    status, failure_reason, object_key, cost_usd, rank, created_at, generated_at) VALUES
 ('a1000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000000', 1, 0, 'procedural', 'procedural-v1', 'p', '{soft light}', 1,
  'selected', NULL, 'k/a1.png', 0.01, 1, '2026-03-01 10:00:05Z', '2026-03-01 10:00:15Z'),
 ('a2000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000000', 1, 1, 'procedural', 'procedural-v1', 'p', '{studio}', 2,
  'selected', NULL, 'k/a2.png', 0.01, 2, '2026-03-01 10:00:05Z', '2026-03-01 10:00:25Z'),
 ('a3000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000000', 1, 2, 'procedural', 'procedural-v1', 'p', '{}', 3,
  'discarded', NULL, 'k/a3.png', 0.01, NULL, '2026-03-01 10:00:05Z', '2026-03-01 10:00:35Z'),
 ('a4000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000000', 1, 3, 'procedural', 'procedural-v1', 'p', '{}', 4,
  'filtered', 'filtered: nsfw', NULL, 0, NULL, '2026-03-01 10:00:05Z', '2026-03-01 10:00:45Z'),
 ('b1000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000000', 1, 0, 'openai', 'gpt-image-2', 'p', '{}', 5,
  'discarded', NULL, 'k/b1.png', 0.07, NULL, '2026-03-01 09:00:10Z', '2026-03-01 09:00:20Z'),
 ('b2000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000000', 1, 1, 'openai', 'gpt-image-2', 'p', '{}', 6,
  'errored', 'DependencyUnavailable: s3', NULL, 0, NULL, '2026-03-01 09:00:10Z', '2026-03-01 09:00:40Z'),
 ('b3000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000000', 2, 0, 'openai', 'gpt-image-2', 'p', '{}', 7,
  'selected', NULL, 'k/b3.png', 0.07, 1, '2026-03-01 09:01:00Z', '2026-03-01 09:01:20Z'),
 ('c1000000-0000-0000-0000-000000000000', 'c0000000-0000-0000-0000-000000000000', 1, 0, 'procedural', 'procedural-v1', 'p', '{}', 8,
  'failed', 'invalid_request: bad size', NULL, 0, NULL, '2026-03-01 11:00:05Z', '2026-03-01 11:00:10Z'),
 ('e1000000-0000-0000-0000-000000000000', 'e0000000-0000-0000-0000-000000000000', 1, 0, 'procedural', 'procedural-v1', 'p', '{}', 9,
  'selected', NULL, 'k/e1.png', 0.002, 1, '2026-02-19 12:00:05Z', '2026-02-19 12:00:10Z'),
 ('e2000000-0000-0000-0000-000000000000', 'e0000000-0000-0000-0000-000000000000', 1, 1, 'procedural', 'procedural-v1', 'p', '{}', 10,
  'discarded', NULL, 'k/e2.png', 0.002, NULL, '2026-02-19 12:00:05Z', '2026-02-19 12:00:12Z');

INSERT INTO validation_results (candidate_id, validator_version, score, passed, flagged, reasons, created_at) VALUES
 ('a1000000-0000-0000-0000-000000000000', 'v1', 92, true, false, '{}', '2026-03-01 10:00:20Z'),
 ('a2000000-0000-0000-0000-000000000000', 'v1', 75, true, true, '{}', '2026-03-01 10:00:30Z'),
 ('a3000000-0000-0000-0000-000000000000', 'v1', 81, true, false, '{}', '2026-03-01 10:00:40Z'),
 ('b1000000-0000-0000-0000-000000000000', 'v1', 55, false, false, '{"blurry: variance 12"}', '2026-03-01 09:00:30Z'),
 ('b3000000-0000-0000-0000-000000000000', 'v1', 85, true, false, '{}', '2026-03-01 09:01:40Z'),
 ('e1000000-0000-0000-0000-000000000000', 'v1', 72, true, false, '{}', '2026-02-19 12:00:15Z'),
 ('e2000000-0000-0000-0000-000000000000', 'v1', 40, false, false, '{"underexposed: mean 20","noisy: sigma 9"}', '2026-02-19 12:00:18Z');

-- The high_quality trigger dated its rows now(); date them at their verdicts, folded.
UPDATE rlhf_feedback f SET created_at = r.created_at, processed_at = r.created_at
FROM validation_results r WHERE f.candidate_id = r.candidate_id AND f.feedback_type = 'high_quality';

INSERT INTO rlhf_feedback (event_id, generation_id, candidate_id, provider, model, feedback_type, feedback_source,
    passed, is_negative, is_positive, weight, created_at, processed_at) VALUES
 ('f1000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000000', 'a1000000-0000-0000-0000-000000000000',
  'procedural', 'procedural-v1', 'selected', 'generation', true, false, true, 1, '2026-03-01 10:01Z', '2026-03-01 10:02Z'),
 ('f2000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000000', 'a4000000-0000-0000-0000-000000000000',
  'procedural', 'procedural-v1', 'filtered', 'generation', false, true, false, 1, '2026-03-01 10:01Z', NULL),
 ('f3000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000000', 'b1000000-0000-0000-0000-000000000000',
  'openai', 'gpt-image-2', 'failed', 'generation', false, true, false, 1, '2026-03-01 09:02Z', '2026-03-01 09:03Z'),
 ('f4000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000000', 'a2000000-0000-0000-0000-000000000000',
  'procedural', 'procedural-v1', 'user_rating', 'user_action', NULL, true, false, 1, '2026-03-01 11:30Z', NULL),
 ('f5000000-0000-0000-0000-000000000000', 'e0000000-0000-0000-0000-000000000000', 'e1000000-0000-0000-0000-000000000000',
  'procedural', 'procedural-v1', 'selected', 'generation', true, false, true, 1, '2026-02-19 12:01Z', '2026-02-19 12:02Z');

INSERT INTO attribute_stats (provider, attribute, passes, failures, samples) VALUES
 ('procedural', 'soft light', 1, 4, 5), ('procedural', 'studio', 4, 1, 5), ('openai', 'night', 0, 2, 2);

-- D last: candidate writes touch their generation's updated_at, and D has none.
INSERT INTO generations (id, user_id, status, requested_count, provider, model, created_at, updated_at) VALUES
 ('d0000000-0000-0000-0000-000000000000', 'u', 'generating', 4, 'procedural', 'procedural-v1',
  '2026-03-01 11:00Z', '2026-03-01 11:00Z');
`

// monitoringStore returns a store over a database holding the fixture
// whose sessions see monitoring.clock() = monitoringClock.
func monitoringStore(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewDB(t)
	_, err := pool.Exec(ctx, monitoringFixture)
	require.NoError(t, err)
	cfg := pool.Config().Copy()
	cfg.ConnConfig.RuntimeParams["monitoring.now"] = monitoringClock
	clocked, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(clocked.Close)
	return postgres.NewStore(clocked), clocked
}

// table returns a section's table as rows of column → value.
func table(t *testing.T, st *postgres.Store, section, name string) []map[string]any {
	t.Helper()
	sec, err := st.MonitoringSection(context.Background(), section, generation.MonitoringQuery{
		MaxCostPerImageUSD: 0.05, StuckAfter: 15 * time.Minute, MinScore: 70})
	require.NoError(t, err)
	for _, tb := range sec.Tables {
		if tb.Name != name {
			continue
		}
		out := make([]map[string]any, len(tb.Rows))
		for i, row := range tb.Rows {
			out[i] = map[string]any{}
			for j, c := range tb.Columns {
				out[i][c] = row[j]
			}
		}
		return out
	}
	t.Fatalf("section %s has no table %s", section, name)
	return nil
}

// want checks one row's values: numbers to 1e-4, everything else exactly.
func want(t *testing.T, row map[string]any, expected map[string]any) {
	t.Helper()
	for k, v := range expected {
		got, ok := row[k]
		require.True(t, ok, "no column %s in %v", k, row)
		switch v := v.(type) {
		case float64:
			require.NotNil(t, got, "column %s", k)
			require.InDelta(t, v, toFloat(got), 1e-4, "column %s of %v", k, row)
		case int:
			require.InDelta(t, float64(v), toFloat(got), 0, "column %s of %v", k, row)
		default:
			require.Equal(t, v, got, "column %s of %v", k, row)
		}
	}
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	panic(v)
}

func TestMonitoringSections(t *testing.T) {
	st, _ := monitoringStore(t)

	t.Run("quality", func(t *testing.T) {
		rows := table(t, st, "quality", "quality_daily")
		require.Len(t, rows, 2)
		// 02-19: e1 passed 72, e2 failed 40 → 1/2; mean (72+40)/2 = 56; delivered e1 72.
		want(t, rows[0], map[string]any{"day": "2026-02-19", "images": 2, "passed": 1, "pass_rate": 0.5,
			"avg_score": 56.0, "avg_delivered_score": 72.0})
		// 03-01: outcomes a1 a2 a3 a4 b1 b3 c1 = 7 (b2 errored is no outcome); passed a1 a2 a3 b3 = 4
		// → 4/7 = 0.5714; scores 92+75+81+55+85 = 388 / 5 = 77.6; delivered a1 a2 b3 = 252 / 3 = 84.
		want(t, rows[1], map[string]any{"day": "2026-03-01", "images": 7, "passed": 4, "pass_rate": 0.5714,
			"avg_score": 77.6, "avg_delivered_score": 84.0})

		rows = table(t, st, "quality", "quality_by_model")
		require.Len(t, rows, 2)
		// openai: b1 55 fail, b3 85 pass → 1/2, mean 70, delivered 85.
		want(t, rows[0], map[string]any{"provider": "openai", "model": "gpt-image-2", "images": 2, "passed": 1,
			"pass_rate": 0.5, "avg_score": 70.0, "avg_delivered_score": 85.0})
		// procedural: a1 a2 a3 a4 c1 e1 e2 = 7, passed a1 a2 a3 e1 = 4 → 0.5714;
		// scores 92+75+81+72+40 = 360 / 5 = 72; delivered 92+75+72 = 239 / 3 = 79.67.
		want(t, rows[1], map[string]any{"provider": "procedural", "images": 7, "passed": 4,
			"pass_rate": 0.5714, "avg_score": 72.0, "avg_delivered_score": 79.67})

		// Scores 92 | 81 85 | 75 72 | — | 55 40 of 7.
		rows = table(t, st, "quality", "quality_distribution")
		require.Len(t, rows, 5)
		for i, w := range []struct {
			bucket string
			n      int
		}{{"90-100", 1}, {"80-89", 2}, {"70-79", 2}, {"60-69", 0}, {"0-59", 2}} {
			want(t, rows[i], map[string]any{"bucket": w.bucket, "images": w.n, "share": float64(w.n) / 7})
		}
	})

	t.Run("cost", func(t *testing.T) {
		rows := table(t, st, "cost", "cost_daily")
		require.Len(t, rows, 2)
		// 02-19: 0.002 + 0.002 = 0.004 for e1.
		want(t, rows[0], map[string]any{"day": "2026-02-19", "spend_usd": 0.004, "delivered": 1, "cost_per_delivered_usd": 0.004})
		// 03-01: 3 × 0.01 + 2 × 0.07 = 0.17 for a1 a2 b3 → 0.056667.
		want(t, rows[1], map[string]any{"spend_usd": 0.17, "delivered": 3, "cost_per_delivered_usd": 0.056667})

		rows = table(t, st, "cost", "cost_by_model")
		require.Len(t, rows, 2)
		// openai: 0.14 for b3 (85 points) → 0.14 per image, 0.14/85 = 0.00164706 per point.
		want(t, rows[0], map[string]any{"provider": "openai", "spend_usd": 0.14, "delivered": 1,
			"cost_per_delivered_usd": 0.14, "cost_per_quality_point_usd": 0.00164706})
		// procedural: 0.03 + 0.004 = 0.034 for a1 a2 e1 (92+75+72 = 239 points) → 0.011333, 0.00014226.
		want(t, rows[1], map[string]any{"provider": "procedural", "spend_usd": 0.034, "delivered": 3,
			"cost_per_delivered_usd": 0.011333, "cost_per_quality_point_usd": 0.00014226})

		rows = table(t, st, "cost", "buffer_efficiency")
		require.Len(t, rows, 2)
		// openai: B only (p = 1/2): generated 3 (b1 b2 b3), first round 2, delivered 1.
		// M*(N=1, p=½, c=0.95): 1 − ½^M ≥ 0.95 → M = 5 (½^4 = 0.0625, ½^5 = 0.03125).
		want(t, rows[0], map[string]any{"provider": "openai", "generations": 1, "generated": 3, "delivered": 1,
			"pass_rate": 0.5, "generated_per_delivered": 3.0, "planned_per_delivered": 2.0, "minimum_per_delivered": 5.0})
		// procedural: A and E (C failed; E named no model, its candidates' is procedural-v1), p = 4/7 (q = 3/7): generated 4 + 2 = 6, first rounds 4 + 2 = 6,
		// delivered 2 + 1 = 3.
		// M*(1, 4/7): q^3 = 0.0787 > 0.05, q^4 = 0.0337 → 4.
		// M*(2, 4/7): P(X ≥ 2) = 1 − q^M − M·p·q^(M−1): M=6 → 1 − 0.00620 − 0.04957 = 0.9442;
		// M=7 → 1 − 0.00266 − 0.02479 = 0.9726 → 7. (4 + 7) / 3 = 3.6667.
		want(t, rows[1], map[string]any{"provider": "procedural", "generations": 2, "generated": 6, "delivered": 3,
			"pass_rate": 0.5714, "generated_per_delivered": 2.0, "planned_per_delivered": 2.0, "minimum_per_delivered": 3.6667})
	})

	t.Run("learning", func(t *testing.T) {
		rows := table(t, st, "learning", "learning_daily")
		require.Len(t, rows, 2)
		// 02-19: f5 +.
		want(t, rows[0], map[string]any{"day": "2026-02-19", "events": 1, "positive": 1, "negative": 0, "unfolded": 0})
		// 03-01: f1 + f2 − f3 − f4 − and high_quality a1 b3 + → 6 events, 3 +, 3 −; f2 f4 unfolded.
		want(t, rows[1], map[string]any{"day": "2026-03-01", "events": 6, "positive": 3, "negative": 3, "unfolded": 2})

		rows = table(t, st, "learning", "learning_by_provider")
		require.Len(t, rows, 2)
		// openai: last 7 days b1 b3 → 1/2; nothing the 7 days before; "night" 2 samples.
		want(t, rows[0], map[string]any{"provider": "openai", "modifiers": 1, "samples": 2, "pass_rate_7d": 0.5,
			"pass_rate_previous_7d": nil, "change": nil})
		// procedural: last 7 days a1 a2 a3 pass, a4 c1 fail → 3/5 = 0.6; 7 days before e1 e2 → 0.5; +0.1.
		want(t, rows[1], map[string]any{"provider": "procedural", "modifiers": 2, "samples": 10, "pass_rate_7d": 0.6,
			"pass_rate_previous_7d": 0.5, "change": 0.1})

		// (failures + ½) / (samples + 1): soft light 4.5/6 = 0.75, studio 1.5/6 = 0.25; night has 2 < 3 samples.
		rows = table(t, st, "learning", "failing_modifiers")
		require.Len(t, rows, 2)
		want(t, rows[0], map[string]any{"provider": "procedural", "modifier": "soft light", "failure_rate": 0.75})
		want(t, rows[1], map[string]any{"modifier": "studio", "failure_rate": 0.25})

		// Failed (not errored) images per code: a4 filtered, b1 blurry, c1 invalid_request, e2 noisy + underexposed.
		rows = table(t, st, "learning", "failure_reasons")
		reasons := map[string]any{}
		for _, r := range rows {
			reasons[r["provider"].(string)+"/"+r["reason"].(string)] = r["images"]
		}
		require.Equal(t, map[string]any{"openai/blurry": int64(1), "procedural/filtered": int64(1),
			"procedural/invalid_request": int64(1), "procedural/noisy": int64(1), "procedural/underexposed": int64(1)}, reasons)

		// a2 passed flagged and was rated 2: the one image to review.
		rows = table(t, st, "learning", "reviews")
		want(t, rows[0], map[string]any{"pending": 1, "approved": 0, "rejected": 0})
	})

	t.Run("discard", func(t *testing.T) {
		rows := table(t, st, "discard", "discard_daily")
		require.Len(t, rows, 2)
		// 02-19: e2 of e1 e2.
		want(t, rows[0], map[string]any{"images": 2, "discarded": 1, "discard_rate": 0.5})
		// 03-01: a4 b1 b2 c1 of 8 (errored counts as a discard).
		want(t, rows[1], map[string]any{"images": 8, "discarded": 4, "discard_rate": 0.5})

		rows = table(t, st, "discard", "discard_by_provider")
		require.Len(t, rows, 2)
		// openai: b1 b2 of 3 → 0.6667; procedural: a4 c1 e2 of 7 → 0.4286.
		want(t, rows[0], map[string]any{"provider": "openai", "images": 3, "discarded": 2, "discard_rate": 0.6667})
		want(t, rows[1], map[string]any{"provider": "procedural", "images": 7, "discarded": 3, "discard_rate": 0.4286})

		// Five discarded images, one per code (e2 has two): each 1/5.
		rows = table(t, st, "discard", "discard_by_reason")
		require.Len(t, rows, 6)
		got := map[string]bool{}
		for _, r := range rows {
			want(t, r, map[string]any{"discarded": 1, "share": 0.2})
			got[r["reason"].(string)] = true
		}
		require.Equal(t, map[string]bool{"DependencyUnavailable": true, "blurry": true, "filtered": true,
			"invalid_request": true, "noisy": true, "underexposed": true}, got)
	})

	t.Run("performance", func(t *testing.T) {
		rows := table(t, st, "performance", "delivery_time")
		require.Len(t, rows, 2)
		// Count 1: B 120 s, E 30 s → p50 75, p95 30 + 0.95 × 90 = 115.5. Count 2: A 60 s.
		want(t, rows[0], map[string]any{"count_band": "1", "generations": 2, "p50_seconds": 75.0, "p95_seconds": 115.5})
		want(t, rows[1], map[string]any{"count_band": "2-5", "generations": 1, "p50_seconds": 60.0, "p95_seconds": 60.0})

		rows = table(t, st, "performance", "stage_time")
		require.Len(t, rows, 4)
		// plan: A 5, B 10, C 5, E 5 → mean 6.25; p95 at 0.95 × 3 = 2.85 → 5 + 0.85 × 5 = 9.25.
		want(t, rows[0], map[string]any{"stage": "plan", "samples": 4, "avg_seconds": 6.25, "p95_seconds": 9.25})
		// generate: 10 20 30 40 10 30 20 5 5 7 → 177/10 = 17.7; sorted …30 30 40, 9 × 0.95 = 8.55 → 30 + 0.55 × 10 = 35.5.
		want(t, rows[1], map[string]any{"stage": "generate", "samples": 10, "avg_seconds": 17.7, "p95_seconds": 35.5})
		// validate: a1 5 a2 5 a3 5 b1 10 b3 20 e1 5 e2 6 → 56/7 = 8; 6 × 0.95 = 5.7 → 10 + 0.7 × 10 = 17.
		want(t, rows[2], map[string]any{"stage": "validate", "samples": 7, "avg_seconds": 8.0, "p95_seconds": 17.0})
		// deliver: A 10:01:00 − 10:00:40 = 20, B 09:02:00 − 09:01:40 = 20, E 12:00:30 − 12:00:18 = 12
		// → 52/3 = 17.333 (3 decimals); 2 × 0.95 = 1.9 → 20.
		want(t, rows[3], map[string]any{"stage": "deliver", "samples": 3, "avg_seconds": 17.333, "p95_seconds": 20.0})

		rows = table(t, st, "performance", "rounds")
		require.Len(t, rows, 2)
		// Count 1: B 2 rounds, C 1, E 1 → mean 4/3, one top-up of 3. Count 2: A 1 round.
		want(t, rows[0], map[string]any{"count_band": "1", "generations": 3, "avg_rounds": 1.333, "max_rounds": 2, "topup_rate": 0.3333})
		want(t, rows[1], map[string]any{"count_band": "2-5", "generations": 1, "avg_rounds": 1.0, "max_rounds": 1, "topup_rate": 0.0})
	})

	t.Run("alerts", func(t *testing.T) {
		rows := table(t, st, "alerts", "alerts")
		byName := map[string]map[string]any{}
		for _, r := range rows {
			byName[r["alert"].(string)] = r
		}
		require.Len(t, byName, 6)
		// Last 24 h: a1–a4 b1–b3 c1 = 8 images, a4 b1 b2 c1 discarded → 0.5 > 0.3.
		want(t, byName["discard_rate_24h"], map[string]any{"firing": true, "value": 0.5, "threshold": 0.3})
		// Delivered a1 a2 b3 → 84 ≥ 70.
		want(t, byName["avg_delivered_score_24h"], map[string]any{"firing": false, "value": 84.0, "threshold": 70.0})
		// C failed at 11:01.
		want(t, byName["failed_generations_24h"], map[string]any{"firing": true, "value": 1.0})
		// D: no progress since 11:00, an hour > 15 minutes.
		want(t, byName["stuck_generations"], map[string]any{"firing": true, "value": 1.0})
		// f2 (10:01) and f4 (11:30) unfolded for more than 15 minutes.
		want(t, byName["unfolded_feedback_backlog"], map[string]any{"firing": true, "value": 2.0})
		// 0.17 / 3 = 0.056667 > 0.05.
		want(t, byName["cost_per_delivered_image_24h"], map[string]any{"firing": true, "value": 0.056667, "threshold": 0.05})
	})

	t.Run("summary", func(t *testing.T) {
		rows := table(t, st, "summary", "summary")
		require.Len(t, rows, 3)
		// Today and 7 days: A B C D created; A B delivered; images 8, delivered a1 a2 b3; passed 4 of 7
		// outcomes; discarded 4 of 8; delivered mean 84; spend 0.17 → 0.056667 each; a2 awaits review.
		for _, r := range rows[:2] {
			want(t, r, map[string]any{"generations": 4, "delivered_generations": 2, "images": 8, "delivered_images": 3,
				"pass_rate": 0.5714, "discard_rate": 0.5, "avg_delivered_score": 84.0, "spend_usd": 0.17,
				"cost_per_delivered_usd": 0.056667, "review_queue": 1})
		}
		require.Equal(t, []any{"today", "7d", "30d"}, []any{rows[0]["period"], rows[1]["period"], rows[2]["period"]})
		// 30 days adds E: 5 generations, 3 delivered; 10 images, 4 delivered; 5/9 passed; 5/10 discarded;
		// (92+75+85+72)/4 = 81; 0.174 / 4 = 0.0435.
		want(t, rows[2], map[string]any{"generations": 5, "delivered_generations": 3, "images": 10, "delivered_images": 4,
			"pass_rate": 0.5556, "discard_rate": 0.5, "avg_delivered_score": 81.0, "spend_usd": 0.174,
			"cost_per_delivered_usd": 0.0435, "review_queue": 1})
	})
}

func TestMinImagesIsTheExactBinomialMinimum(t *testing.T) {
	_, pool := monitoringStore(t)
	for _, c := range []struct {
		n    int
		p, c float64
		want any
	}{
		{1, 0.5, 0.95, int32(5)},     // 1 − ½^5 = 0.969; ½^4 = 0.0625 > 0.05
		{2, 4.0 / 7, 0.95, int32(7)}, // worked out in TestMonitoringSections
		{3, 1, 0.95, int32(3)},       // every image passes
		{10, 0, 0.95, nil},           // never
		// N = 100, p = ½, c = 0.95: the exact tail, summed in Python with
		// math.comb, is P(Bin(223, ½) ≥ 100) = 0.94609 and
		// P(Bin(224, ½) ≥ 100) = 0.95269.
		{100, 0.5, 0.95, int32(224)},
	} {
		var got any
		require.NoError(t, pool.QueryRow(context.Background(), "SELECT monitoring.min_images($1, $2, $3)", c.n, c.p, c.c).Scan(&got))
		require.Equal(t, c.want, got, "M*(%d, %v, %v)", c.n, c.p, c.c)
	}
}

func TestReviewQueueAndReview(t *testing.T) {
	st, _ := monitoringStore(t)
	ctx := context.Background()
	items, err := st.ReviewQueue(ctx, 10)
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, "a2000000-0000-0000-0000-000000000000", items[0].CandidateID)
	require.Equal(t, "borderline score, rated low", items[0].Why)
	require.Equal(t, "k/a2.png", items[0].ObjectKey)

	c, err := st.Candidate(ctx, items[0].CandidateID, "v1")
	require.NoError(t, err)
	// A rejection, then an approval of the same image by another operator:
	// one live review, whose fold replaces the rejection's 3 failures.
	_, err = st.InsertFeedback(ctx, []generation.FeedbackEvent{learning.ReviewEvent(c, "op1", false, time.Now().Add(-time.Second))})
	require.NoError(t, err)
	_, err = st.FoldFeedback(ctx, 0)
	require.NoError(t, err)
	stats := reviewStats(t, st, "procedural")
	// studio (a2's modifier), discount 0: 4 passes, 1 failure + the rejection's 3 (ReviewWeight)
	// failures (f2 and f4, folded too, carry no modifiers).
	require.InDelta(t, 4.0, stats["studio"].Passes, 1e-9)
	require.InDelta(t, 1+3.0, stats["studio"].Failures, 1e-9)

	_, err = st.InsertFeedback(ctx, []generation.FeedbackEvent{learning.ReviewEvent(c, "op2", true, time.Now())})
	require.NoError(t, err)
	_, err = st.FoldFeedback(ctx, 0)
	require.NoError(t, err)
	stats = reviewStats(t, st, "procedural")
	// The approval replaces the rejection: −3 failures, +3 passes.
	require.InDelta(t, 4+3.0, stats["studio"].Passes, 1e-9)
	require.InDelta(t, 1.0, stats["studio"].Failures, 1e-9)

	items, err = st.ReviewQueue(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, items)
	rows := table(t, st, "learning", "reviews")
	want(t, rows[0], map[string]any{"pending": 0, "approved": 1, "rejected": 0})
}

func reviewStats(t *testing.T, st *postgres.Store, provider string) map[string]generation.AttributeStat {
	t.Helper()
	list, err := st.AttributeStats(context.Background(), provider)
	require.NoError(t, err)
	out := map[string]generation.AttributeStat{}
	for _, a := range list {
		out[a.Attribute] = a
	}
	return out
}

// A database that refuses connections (nothing listens where it was) is
// EUNAVAILABLE for both reads (the API's 503), never an uncoded error.
func TestMonitoringReadsWhenTheDatabaseRefuses(t *testing.T) {
	pool := pgtest.NewDB(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cfg := pool.Config().Copy()
	cfg.ConnConfig.Port = uint16(port)
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	cfg.ConnConfig.Fallbacks = nil
	down, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(down.Close)
	st := postgres.NewStore(down)
	_, err = st.MonitoringSection(context.Background(), "summary", generation.MonitoringQuery{})
	require.Equal(t, generation.EUNAVAILABLE, generation.ErrorCode(err), "%v", err)
	_, err = st.ReviewQueue(context.Background(), 10)
	require.Equal(t, generation.EUNAVAILABLE, generation.ErrorCode(err), "%v", err)
}
