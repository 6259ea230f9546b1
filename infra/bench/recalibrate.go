package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
)

// recalibrateTiming is what `bench-buffer` measures of Recalibrate.
type recalibrateTiming struct {
	ValidationRows int
	Candidates     int
	Load           time.Duration
	Rebuild        time.Duration   // rebuild_provider_outcomes over the whole load
	Runs           []time.Duration // each full Recalibrate, in order
	Providers      int
	Idempotent     bool // every run stored exactly what the first did
	// Exact: after TriggerRows more candidates were validated through the
	// triggers, the counters equal a full rebuild's.
	Exact       bool
	TriggerRows int
	// Per validated candidate (verdict insert + status update), with the
	// triggers and without them.
	WithTriggers, WithoutTriggers time.Duration
}

func (r recalibrateTiming) median() time.Duration {
	s := slices.Clone(r.Runs)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchRecalibrate loads `rows` validation results (and their candidates,
// plus one filtered or failed candidate per 20 validated ones) into a
// throwaway database with generate_series, then times the real
// Store.Recalibrate `runs` times.
func benchRecalibrate(ctx context.Context, rows, runs int, progress io.Writer) (recalibrateTiming, error) {
	res := recalibrateTiming{ValidationRows: rows, Candidates: rows + rows/20}
	fmt.Fprintln(progress, "recalibrate: starting a throwaway Postgres")
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		return res, fmt.Errorf("start postgres: %w", err)
	}
	defer func() { _ = srv.Stop(context.WithoutCancel(ctx)) }()
	if err := srv.CreateDatabase(ctx, "bench"); err != nil {
		return res, err
	}
	url := srv.URL("bench")
	if err := stack.Migrate(ctx, url); err != nil {
		return res, err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return res, fmt.Errorf("open database: %w", err)
	}
	defer pool.Close()

	fmt.Fprintf(progress, "recalibrate: loading %d validation rows (%d candidates)\n", rows, res.Candidates)
	start := time.Now()
	if err := loadRecalibrateRows(ctx, pool, res.Candidates); err != nil {
		return res, err
	}
	res.Load = time.Since(start)

	start = time.Now()
	if _, err := pool.Exec(ctx, `SELECT rebuild_provider_outcomes()`); err != nil {
		return res, fmt.Errorf("rebuild outcomes: %w", err)
	}
	res.Rebuild = time.Since(start)

	// More outcomes arrive the way the pipeline writes them: through the
	// triggers.
	res.TriggerRows = 20_000
	if res.WithTriggers, err = validateBatch(ctx, pool, 2, res.TriggerRows, true); err != nil {
		return res, err
	}
	counted := res.Candidates + res.TriggerRows

	store := postgres.NewStore(pool)
	var first []generation.ProviderStats
	for i := range runs {
		at := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
		start := time.Now()
		stats, err := store.Recalibrate(ctx, at)
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, time.Since(start))
		fmt.Fprintf(progress, "recalibrate: run %d took %v (%d provider/model rows)\n", i+1, res.Runs[i].Round(time.Microsecond), len(stats))
		total := 0
		for j := range stats {
			total += stats[j].Samples()
			stats[j].ComputedAt = time.Time{}
		}
		if total != counted {
			return res, fmt.Errorf("recalibrate counted %d outcomes, want %d", total, counted)
		}
		if i == 0 {
			first, res.Providers, res.Idempotent = stats, len(stats), true
		} else if fmt.Sprint(stats) != fmt.Sprint(first) {
			res.Idempotent = false
		}
	}
	if _, err := pool.Exec(ctx, `SELECT rebuild_provider_outcomes()`); err != nil {
		return res, fmt.Errorf("rebuild outcomes: %w", err)
	}
	rebuilt, err := store.Recalibrate(ctx, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return res, err
	}
	for j := range rebuilt {
		rebuilt[j].ComputedAt = time.Time{}
	}
	res.Exact = fmt.Sprint(rebuilt) == fmt.Sprint(first)

	// The same writes without triggers, for their cost (the counters are
	// not needed any more).
	if res.WithoutTriggers, err = validateBatch(ctx, pool, 3, res.TriggerRows, false); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "recalibrate: validating a candidate costs %v with the outcome triggers, %v without\n",
		res.WithTriggers.Round(time.Microsecond), res.WithoutTriggers.Round(time.Microsecond))
	return res, nil
}

// loadRecalibrateRows writes `candidates` candidates over 4 providers × 2
// models in generations of 100; every 21st is filtered or failed, the others
// have one verdict with a score drawn uniformly from 40–100 (pass at 70).
// Triggers and foreign-key checks are off for the load only (replica role):
// the data is consistent by construction.
func loadRecalibrateRows(ctx context.Context, pool *pgxpool.Pool, candidates int) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer conn.Release()
	statements := []string{
		`SET session_replication_role = replica`,
		`SELECT setseed(0.42)`,
		fmt.Sprintf(`INSERT INTO generations (id, user_id, status, requested_count, provider, model, completed_at)
			SELECT md5('gen' || g)::uuid, 'bench', 'delivered', 100, 'provider-' || (g %% 4), 'model-' || (g %% 2), now()
			FROM generate_series(0, %d) AS g`, candidates/100),
		fmt.Sprintf(`INSERT INTO candidates (generation_id, round, index, provider, model, prompt, seed, status,
				failure_reason, object_key, cost_usd, rank)
			SELECT md5('gen' || (i / 100))::uuid, 1, i %% 100, 'provider-' || ((i / 100) %% 4), 'model-' || ((i / 100) %% 2),
			       'bench', i,
			       CASE WHEN i %% 21 = 20 THEN (CASE WHEN i %% 2 = 0 THEN 'filtered' ELSE 'failed' END)
			            WHEN i %% 3 = 0 THEN 'selected' ELSE 'discarded' END,
			       CASE WHEN i %% 21 = 20 THEN (CASE WHEN i %% 2 = 0 THEN 'filtered: safety' ELSE 'timeout' END) END,
			       CASE WHEN i %% 21 <> 20 THEN 'generations/bench/' || i || '.png' END,
			       0.04,
			       CASE WHEN i %% 21 <> 20 AND i %% 3 = 0 THEN i %% 100 + 1 END
			FROM generate_series(0, %d) AS i`, candidates-1),
		`INSERT INTO validation_results (candidate_id, validator_version, score, passed, reasons)
			SELECT id, 'bench-v1', score, score >= 70,
			       CASE WHEN score >= 70 THEN '{}'::text[]
			            WHEN score < 42 THEN ARRAY['blank']
			            WHEN score < 55 THEN ARRAY['blurry: variance 3 < 50', 'underexposed: mean 0.08']
			            ELSE ARRAY['low_score'] END
			FROM (SELECT id, (40 + 60 * random())::numeric(5, 2) AS score
			      FROM candidates WHERE status NOT IN ('filtered', 'failed')) s`,
		`SET session_replication_role = DEFAULT`,
		`VACUUM ANALYZE generations, candidates, validation_results`,
	}
	for _, sql := range statements {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	return nil
}

// validateBatch adds n stored candidates as round `round` of the first
// generations, then
// validates them as the pipeline does (a verdict, then the status), one
// candidate per statement pair, and returns the mean time per candidate.
func validateBatch(ctx context.Context, pool *pgxpool.Pool, round, n int, triggers bool) (time.Duration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("validate batch: %w", err)
	}
	defer conn.Release()
	role := "DEFAULT"
	if !triggers {
		role = "replica"
	}
	if _, err := conn.Exec(ctx, `SET session_replication_role = `+role); err != nil {
		return 0, fmt.Errorf("validate batch: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SET session_replication_role = DEFAULT`) }()
	rows, err := conn.Query(ctx, `
		INSERT INTO candidates (generation_id, round, index, provider, model, prompt, seed, status, object_key, cost_usd)
		SELECT md5('gen' || (i / 100))::uuid, $1::int, i % 100, 'provider-' || ((i / 100) % 4), 'model-' || ((i / 100) % 2),
		       'bench', i, 'stored', 'generations/bench/' || $1::int || '/' || i || '.png', 0.04
		FROM generate_series(0, $2::int - 1) AS i
		RETURNING id::text`, round, n)
	if err != nil {
		return 0, fmt.Errorf("validate batch: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("validate batch: %w", err)
	}
	start := time.Now()
	for i, id := range ids {
		score := 40 + float64(i%61)
		batch := &pgx.Batch{}
		batch.Queue(`INSERT INTO validation_results (candidate_id, validator_version, score, passed, reasons)
			VALUES ($1::uuid, 'bench-v1', $2::numeric, $2::numeric >= 70,
			        CASE WHEN $2::numeric >= 70 THEN '{}'::text[] ELSE ARRAY['blurry: bench'] END)`, id, score)
		batch.Queue(`UPDATE candidates SET status = 'validated' WHERE id = $1::uuid`, id)
		if err := conn.SendBatch(ctx, batch).Close(); err != nil {
			return 0, fmt.Errorf("validate batch: %w", err)
		}
	}
	return time.Since(start) / time.Duration(n), nil
}
