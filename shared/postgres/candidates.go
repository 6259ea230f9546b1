package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

// candidateColumns projects a candidate (c) and its verdict (v, LEFT JOINed
// for one validator version); see scanCandidate.
const candidateColumns = `c.id::text, c.generation_id::text, c.round, c.index, c.provider, c.model,
	c.prompt, c.negative_prompt, c.modifiers, c.seed, c.status, COALESCE(c.failure_reason, ''),
	COALESCE(c.object_key, ''), COALESCE(c.content_type, ''), COALESCE(c.width, 0),
	COALESCE(c.height, 0), COALESCE(c.bytes, 0), c.cost_usd::float8, COALESCE(c.latency_ms, 0),
	c.rank, c.created_at, c.predicted_pass, c.exploration_cost,
	v.validator_version, v.score::float8, v.passed, v.flagged, v.metrics::text, v.reasons,
	COALESCE(v.fingerprint, '')`

// candidateFrom is the FROM clause that goes with candidateColumns; $2 is
// the validator version.
const candidateFrom = ` FROM candidates c
	LEFT JOIN validation_results v ON v.candidate_id = c.id AND v.validator_version = $2::text `

func scanCandidate(row pgx.Row) (generation.Candidate, error) {
	var (
		c               generation.Candidate
		version         *string
		score           *float64
		passed, flagged *bool
		metrics         *string
		reasons         []string
		fingerprint     string
	)
	err := row.Scan(&c.ID, &c.GenerationID, &c.Round, &c.Index, &c.Provider, &c.Model,
		&c.Prompt, &c.NegativePrompt, &c.Modifiers, &c.Seed, (*string)(&c.Status), &c.FailureReason,
		&c.ObjectKey, &c.ContentType, &c.Width,
		&c.Height, &c.Bytes, &c.CostUSD, &c.LatencyMS,
		&c.Rank, &c.CreatedAt, &c.PredictedPass, &c.ExplorationCost,
		&version, &score, &passed, &flagged, &metrics, &reasons, &fingerprint)
	if err != nil {
		return c, err
	}
	if len(c.Modifiers) == 0 {
		c.Modifiers = nil
	}
	if version != nil {
		v := generation.Verdict{ValidatorVersion: *version, Score: *score, Passed: *passed, Flagged: *flagged, Fingerprint: fingerprint}
		if len(reasons) > 0 {
			v.Reasons = reasons
		}
		if metrics != nil {
			if err := json.Unmarshal([]byte(*metrics), &v.Metrics); err != nil {
				return c, fmt.Errorf("decode metrics of candidate %s: %w", c.ID, err)
			}
			if len(v.Metrics) == 0 {
				v.Metrics = nil
			}
		}
		c.Verdict = &v
	}
	return c, nil
}

// SavePlan writes a round's candidates as planned, keeping existing
// (generation, round, index) rows as they are (ids come from Postgres), and
// the generation's plan fields (status generating, rounds, planned_count and
// — unless a later round was already planned — the buffer fields), in one
// transaction. It returns every candidate of the round in index order. A
// final generation is ECONFLICT.
func (s *Store) SavePlan(ctx context.Context, generationID string, plan generation.RoundPlan, cands []generation.Candidate) ([]generation.Candidate, error) {
	if !generation.IsUUID(generationID) {
		return nil, notFound("generation %s", generationID)
	}
	if plan.Round < 1 {
		return nil, generation.FieldError("round", "must be at least 1, got %d", plan.Round)
	}
	if err := finite("bufferPercent", plan.BufferPercent); err != nil {
		return nil, err
	}
	for _, c := range cands {
		if c.Round != plan.Round {
			return nil, generation.FieldError("round", "candidate %d is of round %d, the plan of round %d", c.Index, c.Round, plan.Round)
		}
		if p := c.PredictedPass; p != nil && !(*p >= 0 && *p <= 1) {
			return nil, generation.FieldError("predictedPass", "candidate %d: must be from 0 to 1, got %v", c.Index, *p)
		}
		if err := finite("explorationCost", c.ExplorationCost); err != nil {
			return nil, err
		}
	}
	var out []generation.Candidate
	err := s.inTx(ctx, "save plan of generation "+generationID, func(tx pgx.Tx) error {
		if _, err := lockGeneration(ctx, tx, generationID); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		for _, c := range cands {
			mods := c.Modifiers
			if mods == nil {
				mods = []string{}
			}
			batch.Queue(`
				INSERT INTO candidates (generation_id, round, index, provider, model, prompt,
					negative_prompt, modifiers, seed, predicted_pass, exploration_cost)
				VALUES ($1::uuid, $2::int, $3::int, $4::text, $5::text, $6::text, $7::text, $8::text[], $9::bigint,
					$10::float8, $11::float8)
				ON CONFLICT (generation_id, round, index) DO NOTHING`,
				generationID, plan.Round, c.Index, c.Provider, c.Model, c.Prompt,
				c.NegativePrompt, mods, c.Seed, c.PredictedPass, max(0, c.ExplorationCost))
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return dbError(err, "insert candidates of generation %s round %d", generationID, plan.Round)
		}
		// The generation records round 1's plan: the buffer the request was
		// sized with and its promise. A top-up's size (often a large percent
		// of a small shortfall) shows in planned_count and rounds instead.
		_, err := tx.Exec(ctx, `
			UPDATE generations
			SET status = 'generating',
			    buffer_percent = CASE WHEN $2::int = 1 THEN $3::numeric ELSE buffer_percent END,
			    buffer_method = CASE WHEN $2::int = 1 THEN NULLIF($4::text, '') ELSE buffer_method END,
			    predicted_delivery_probability = CASE WHEN $2::int = 1 THEN $5::float8
			                                          ELSE predicted_delivery_probability END,
			    posterior_alpha = CASE WHEN $2::int = 1 THEN NULLIF($6::float8, 0) ELSE posterior_alpha END,
			    posterior_beta = CASE WHEN $2::int = 1 THEN NULLIF($7::float8, 0) ELSE posterior_beta END,
			    rounds = GREATEST(rounds, $2::int),
			    planned_count = (SELECT count(*) FROM candidates WHERE generation_id = $1::uuid)
			WHERE id = $1::uuid`,
			generationID, plan.Round, plan.BufferPercent, plan.BufferMethod, plan.PredictedDeliveryProbability,
			plan.PosteriorAlpha, plan.PosteriorBeta)
		if err != nil {
			return dbError(err, "save plan of generation %s round %d", generationID, plan.Round)
		}
		out, err = queryCandidates(ctx, tx, `SELECT `+candidateColumns+candidateFrom+
			`WHERE c.generation_id = $1::uuid AND c.round = $3::int ORDER BY c.index`,
			generationID, "", plan.Round)
		if err != nil {
			return dbError(err, "load candidates of generation %s round %d", generationID, plan.Round)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Candidate returns the candidate with id and its verdict for
// validatorVersion when there is one, or ENOTFOUND.
func (s *Store) Candidate(ctx context.Context, id, validatorVersion string) (generation.Candidate, error) {
	if !generation.IsUUID(id) {
		return generation.Candidate{}, notFound("candidate %s", id)
	}
	c, err := scanCandidate(s.pool.QueryRow(ctx, `SELECT `+candidateColumns+candidateFrom+`WHERE c.id = $1::uuid`,
		id, validatorVersion))
	if err != nil {
		return generation.Candidate{}, dbError(err, "candidate %s", id)
	}
	return c, nil
}

// Candidates returns every candidate of a generation by round and index,
// each with its verdict for validatorVersion when there is one. A generation
// that does not exist is ENOTFOUND; one without candidates gives none.
func (s *Store) Candidates(ctx context.Context, generationID, validatorVersion string) ([]generation.Candidate, error) {
	if !generation.IsUUID(generationID) {
		return nil, notFound("generation %s", generationID)
	}
	out, err := queryCandidates(ctx, s.pool, `SELECT `+candidateColumns+candidateFrom+
		`WHERE c.generation_id = $1::uuid ORDER BY c.round, c.index`, generationID, validatorVersion)
	if err != nil {
		return nil, dbError(err, "load candidates of generation %s", generationID)
	}
	if len(out) == 0 {
		var exists bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM generations WHERE id = $1::uuid)`, generationID).Scan(&exists)
		if err != nil {
			return nil, dbError(err, "generation %s", generationID)
		}
		if !exists {
			return nil, notFound("generation %s", generationID)
		}
	}
	return out, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryCandidates(ctx context.Context, q querier, sql string, args ...any) ([]generation.Candidate, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (generation.Candidate, error) {
		return scanCandidate(row)
	})
}

// SaveGenerated records a candidate's generation outcome: stored (object
// key, content type, size, bytes, cost, latency, and the model the provider
// reports when set), filtered or failed (failure reason, cost). Only a planned candidate changes, so a retried
// call for a candidate that already has an outcome is a no-op.
func (s *Store) SaveGenerated(ctx context.Context, c generation.Candidate) error {
	if !generation.IsUUID(c.ID) {
		return notFound("candidate %s", c.ID)
	}
	switch c.Status {
	case generation.CandidateStored, generation.CandidateFiltered, generation.CandidateFailed:
	default:
		return generation.FieldError("status", "a generation outcome is stored, filtered or failed, got %q", c.Status)
	}
	if err := finite("costUsd", c.CostUSD); err != nil {
		return err
	}
	var found bool
	err := s.pool.QueryRow(ctx, `
		WITH target AS (SELECT id FROM candidates WHERE id = $1::uuid),
		updated AS (
			UPDATE candidates c
			SET status = $2::text,
			    object_key = NULLIF($3::text, ''),
			    content_type = NULLIF($4::text, ''),
			    width = NULLIF($5::int, 0),
			    height = NULLIF($6::int, 0),
			    bytes = NULLIF($7::int, 0),
			    cost_usd = $8::numeric,
			    latency_ms = $9::int,
			    failure_reason = NULLIF($10::text, ''),
			    model = COALESCE(NULLIF($11::text, ''), c.model)
			FROM target
			WHERE c.id = target.id AND c.status = 'planned'
		)
		SELECT EXISTS (SELECT 1 FROM target)`,
		c.ID, string(c.Status), c.ObjectKey, c.ContentType, c.Width, c.Height, c.Bytes,
		c.CostUSD, c.LatencyMS, c.FailureReason, c.Model).Scan(&found)
	if err != nil {
		return dbError(err, "save generated candidate %s", c.ID)
	}
	if !found {
		return notFound("candidate %s", c.ID)
	}
	return nil
}

// SaveVerdict stores v once per (candidate, validator version) and marks a
// stored candidate validated, in one transaction; it returns the verdict
// that is stored (the earlier one if there was one). A candidate without a
// stored image (planned, filtered, failed) is ECONFLICT.
func (s *Store) SaveVerdict(ctx context.Context, candidateID string, v generation.Verdict) (generation.Verdict, error) {
	if !generation.IsUUID(candidateID) {
		return generation.Verdict{}, notFound("candidate %s", candidateID)
	}
	if v.ValidatorVersion == "" {
		return generation.Verdict{}, generation.FieldError("validatorVersion", "is required")
	}
	if err := finite("score", v.Score); err != nil {
		return generation.Verdict{}, err
	}
	metrics, err := json.Marshal(v.Metrics)
	if err != nil {
		return generation.Verdict{}, fmt.Errorf("encode metrics of candidate %s: %w", candidateID, err)
	}
	if v.Metrics == nil {
		metrics = []byte("{}")
	}
	reasons := v.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	var stored generation.Candidate
	err = s.inTx(ctx, "save verdict of candidate "+candidateID, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM candidates WHERE id = $1::uuid FOR UPDATE`, candidateID).Scan(&status)
		if err != nil {
			return dbError(err, "candidate %s", candidateID)
		}
		switch generation.CandidateStatus(status) {
		case generation.CandidatePlanned, generation.CandidateFiltered, generation.CandidateFailed:
			return generation.Errorf(generation.ECONFLICT, "candidate %s is %s: it has no image to validate", candidateID, status)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO validation_results (candidate_id, validator_version, score, passed, flagged, metrics, reasons, fingerprint)
			VALUES ($1::uuid, $2::text, $3::numeric, $4::boolean, $5::boolean, $6::jsonb, $7::text[], NULLIF($8::text, ''))
			ON CONFLICT (candidate_id, validator_version) DO NOTHING`,
			candidateID, v.ValidatorVersion, v.Score, v.Passed, v.Flagged, string(metrics), reasons, v.Fingerprint)
		if err != nil {
			return dbError(err, "save verdict of candidate %s", candidateID)
		}
		if _, err := tx.Exec(ctx, `UPDATE candidates SET status = 'validated' WHERE id = $1::uuid AND status = 'stored'`, candidateID); err != nil {
			return dbError(err, "mark candidate %s validated", candidateID)
		}
		stored, err = scanCandidate(tx.QueryRow(ctx, `SELECT `+candidateColumns+candidateFrom+`WHERE c.id = $1::uuid`,
			candidateID, v.ValidatorVersion))
		if err != nil {
			return dbError(err, "load verdict of candidate %s", candidateID)
		}
		return nil
	})
	if err != nil {
		return generation.Verdict{}, err
	}
	return *stored.Verdict, nil
}

// MarkDuplicate fails the candidate's verdict for validatorVersion with
// reason "duplicate" (passed and flagged false, the reason added once). A
// verdict already marked is left as it is; no verdict is ENOTFOUND.
func (s *Store) MarkDuplicate(ctx context.Context, candidateID, validatorVersion string) error {
	if !generation.IsUUID(candidateID) {
		return notFound("candidate %s", candidateID)
	}
	var found bool
	err := s.pool.QueryRow(ctx, `
		WITH target AS (
			SELECT id FROM validation_results WHERE candidate_id = $1::uuid AND validator_version = $2::text
		), updated AS (
			UPDATE validation_results v
			SET passed = false, flagged = false, reasons = array_append(v.reasons, $3::text)
			FROM target
			WHERE v.id = target.id AND NOT ($3::text = ANY (v.reasons))
		)
		SELECT EXISTS (SELECT 1 FROM target)`,
		candidateID, validatorVersion, generation.ReasonDuplicate).Scan(&found)
	if err != nil {
		return dbError(err, "mark candidate %s duplicate", candidateID)
	}
	if !found {
		return notFound("verdict of candidate %s under %s", candidateID, validatorVersion)
	}
	return nil
}

// MarkCandidateErrored marks a candidate that has no outcome yet (planned,
// or stored without a verdict) as errored with reason, and returns it as it
// is afterwards. A candidate that has an outcome is left as it is, so a
// retried call changes nothing. The 008 triggers count no errored
// candidate, and the row keeps no object key (the pipeline deletes the
// image).
func (s *Store) MarkCandidateErrored(ctx context.Context, candidateID, reason string) (generation.Candidate, error) {
	if !generation.IsUUID(candidateID) {
		return generation.Candidate{}, notFound("candidate %s", candidateID)
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE candidates
		SET status = 'errored', failure_reason = NULLIF($2::text, ''), object_key = NULL,
		    content_type = NULL, width = NULL, height = NULL, bytes = NULL
		WHERE id = $1::uuid AND status IN ('planned', 'stored')`,
		candidateID, reason)
	if err != nil {
		return generation.Candidate{}, dbError(err, "mark candidate %s errored", candidateID)
	}
	return s.Candidate(ctx, candidateID, "")
}
