// Package postgres is the pgx v5 adapter that implements generation.Store on
// the schema in /migrations. pgx errors stop here: they are mapped once onto
// *generation.Error codes (not found, conflict, invalid, unavailable).
//
// Every statement casts its parameters and keeps no session state, so the
// store works with pgx.QueryExecModeExec (what RDS Proxy and transaction
// poolers need) as well as with the default prepared-statement cache.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/netfail"
)

// Store implements generation.Store on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
	// PassRatePrior is the pseudo-count a of the Beta(a, a) pass-rate prior
	// that Recalibrate stores posteriors with (PASS_RATE_PRIOR; 0:
	// buffer.DefaultPriorCount).
	PassRatePrior float64
	// HalfLife is the recency half-life, in outcomes, of the discounted
	// counts ProviderStats returns (BUFFER_HALF_LIFE; 0: no discount).
	HalfLife float64
}

var _ generation.Store = (*Store)(nil)

// NewStore returns a Store that uses pool. The schema must be migrated
// (migrations.Migrate).
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool}
}

// generationColumns is the one projection of a generations row; see
// scanGeneration. Optional text columns are NULL in the table and "" in Go.
const generationColumns = `id::text, user_id, status, requested_count, settings::text, provider, model,
	base_prompt, COALESCE(reference_key, ''), COALESCE(reference_content_type, ''),
	reference_features::text, rounds, planned_count, generated_count, passed_count,
	delivered_count, buffer_percent::float8, COALESCE(buffer_method, ''), target_confidence,
	predicted_delivery_probability, cost_usd::float8, COALESCE(error, ''),
	COALESCE(execution_arn, ''), COALESCE(idempotency_key, ''), created_at, completed_at, updated_at,
	COALESCE(request_fingerprint, ''), deleted_at`

func scanGeneration(row pgx.Row) (generation.Generation, error) {
	var (
		g                  generation.Generation
		settings, features string
	)
	err := row.Scan(&g.ID, &g.UserID, (*string)(&g.Status), &g.RequestedCount, &settings, &g.Provider, &g.Model,
		&g.BasePrompt, &g.ReferenceKey, &g.ReferenceContentType,
		&features, &g.Rounds, &g.PlannedCount, &g.GeneratedCount, &g.PassedCount,
		&g.DeliveredCount, &g.BufferPercent, &g.BufferMethod, &g.TargetConfidence,
		&g.PredictedDeliveryProbability, &g.CostUSD, &g.Error,
		&g.ExecutionARN, &g.IdempotencyKey, &g.CreatedAt, &g.CompletedAt, &g.UpdatedAt,
		&g.RequestFingerprint, &g.DeletedAt)
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal([]byte(settings), &g.Settings); err != nil {
		return g, fmt.Errorf("decode settings of generation %s: %w", g.ID, err)
	}
	if err := json.Unmarshal([]byte(features), &g.ReferenceFeatures); err != nil {
		return g, fmt.Errorf("decode reference features of generation %s: %w", g.ID, err)
	}
	return g, nil
}

// CreateGeneration inserts g (its ID when set, else a new one). A second
// request from the same user with the same non-empty idempotency key returns
// the first generation and created=false; an empty key is stored as NULL and
// never collides.
func (s *Store) CreateGeneration(ctx context.Context, g generation.Generation) (generation.Generation, bool, error) {
	if g.ID != "" && !generation.IsUUID(g.ID) {
		return generation.Generation{}, false, generation.FieldError("id", "must be a UUID")
	}
	if g.Status == "" {
		g.Status = generation.StatusPlanning
	}
	if g.TargetConfidence == 0 {
		g.TargetConfidence = g.Settings.TargetConfidence
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"costUsd", g.CostUSD}, {"bufferPercent", g.BufferPercent}, {"targetConfidence", g.TargetConfidence}} {
		if err := finite(f.name, f.v); err != nil {
			return generation.Generation{}, false, err
		}
	}
	settings, err := json.Marshal(g.Settings)
	if err != nil {
		return generation.Generation{}, false, fmt.Errorf("encode settings: %w", err)
	}
	features, err := json.Marshal(g.ReferenceFeatures)
	if err != nil {
		return generation.Generation{}, false, fmt.Errorf("encode reference features: %w", err)
	}
	var createdAt *time.Time
	if !g.CreatedAt.IsZero() {
		createdAt = &g.CreatedAt
	}
	row := s.pool.QueryRow(ctx, `
		INSERT INTO generations (id, user_id, status, requested_count, settings, provider, model,
			base_prompt, reference_key, reference_content_type, reference_features, rounds,
			planned_count, generated_count, passed_count, delivered_count, buffer_percent,
			buffer_method, target_confidence, predicted_delivery_probability, cost_usd, error,
			execution_arn, idempotency_key, created_at, completed_at, request_fingerprint)
		VALUES (COALESCE(NULLIF($1::text, '')::uuid, gen_random_uuid()), $2::text, $3::text, $4::int,
			$5::jsonb, $6::text, $7::text, $8::text, NULLIF($9::text, ''), NULLIF($10::text, ''),
			$11::jsonb, $12::int, $13::int, $14::int, $15::int, $16::int, $17::numeric,
			NULLIF($18::text, ''), COALESCE(NULLIF($19::float8, 0), 0.95), $20::float8, $21::numeric,
			NULLIF($22::text, ''), NULLIF($23::text, ''), NULLIF($24::text, ''),
			COALESCE($25::timestamptz, now()), $26::timestamptz, NULLIF($27::text, ''))
		ON CONFLICT (user_id, idempotency_key) DO NOTHING
		RETURNING `+generationColumns,
		g.ID, g.UserID, string(g.Status), g.RequestedCount, string(settings), g.Provider, g.Model,
		g.BasePrompt, g.ReferenceKey, g.ReferenceContentType, string(features), g.Rounds,
		g.PlannedCount, g.GeneratedCount, g.PassedCount, g.DeliveredCount, g.BufferPercent,
		g.BufferMethod, g.TargetConfidence, g.PredictedDeliveryProbability, g.CostUSD, g.Error,
		g.ExecutionARN, g.IdempotencyKey, createdAt, g.CompletedAt, g.RequestFingerprint)
	stored, err := scanGeneration(row)
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return generation.Generation{}, false, dbError(err, "create generation for user %s", g.UserID)
	}
	// The key was taken: the conflicting row is committed by now (the insert
	// waited for it), so this read finds it.
	stored, err = scanGeneration(s.pool.QueryRow(ctx,
		`SELECT `+generationColumns+` FROM generations WHERE user_id = $1::text AND idempotency_key = $2::text`,
		g.UserID, g.IdempotencyKey))
	if err != nil {
		return generation.Generation{}, false, dbError(err, "load generation of user %s with idempotency key %q", g.UserID, g.IdempotencyKey)
	}
	return stored, false, nil
}

// Generation returns the generation with id, or ENOTFOUND.
func (s *Store) Generation(ctx context.Context, id string) (generation.Generation, error) {
	if !generation.IsUUID(id) {
		return generation.Generation{}, notFound("generation %s", id)
	}
	g, err := scanGeneration(s.pool.QueryRow(ctx, `SELECT `+generationColumns+` FROM generations WHERE id = $1::uuid`, id))
	if err != nil {
		return generation.Generation{}, dbError(err, "generation %s", id)
	}
	return g, nil
}

// SetExecution records the execution that runs the generation.
func (s *Store) SetExecution(ctx context.Context, generationID, executionARN string) error {
	if !generation.IsUUID(generationID) {
		return notFound("generation %s", generationID)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE generations SET execution_arn = NULLIF($2::text, '') WHERE id = $1::uuid`,
		generationID, executionARN)
	if err != nil {
		return dbError(err, "set execution of generation %s", generationID)
	}
	if tag.RowsAffected() == 0 {
		return notFound("generation %s", generationID)
	}
	return nil
}

// SaveSelection records a round's tally (generated, passed, cost, rounds) and
// sets the status to selecting. A final generation is ECONFLICT.
func (s *Store) SaveSelection(ctx context.Context, generationID string, sel generation.Selection) error {
	if !generation.IsUUID(generationID) {
		return notFound("generation %s", generationID)
	}
	if err := finite("costUsd", sel.CostUSD); err != nil {
		return err
	}
	return s.inTx(ctx, "save selection of generation "+generationID, func(tx pgx.Tx) error {
		if _, err := lockGeneration(ctx, tx, generationID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			UPDATE generations
			SET status = 'selecting',
			    rounds = GREATEST(rounds, $2::int),
			    generated_count = $3::int,
			    passed_count = $4::int,
			    cost_usd = $5::numeric
			WHERE id = $1::uuid`,
			generationID, sel.Round, sel.Generated, sel.Passed, sel.CostUSD)
		if err != nil {
			return dbError(err, "save selection of generation %s", generationID)
		}
		return nil
	})
}

// SaveDelivery marks the selected candidates (status selected, their rank)
// and the discarded ones, and sets the generation's final fields (status,
// counts, cost, error = reason, completed_at), in one transaction. Saving a
// delivery with the status the generation already has is a no-op (a retried
// Deliver); any other final status on a final generation is ECONFLICT.
// d.Feedback is stored in the same transaction (rlhf_feedback, once per
// event id), so the outcomes a delivery teaches are never lost between the
// commit and the queue: the learner's later insert of the same events is a
// no-op, and any fold picks the rows up.
func (s *Store) SaveDelivery(ctx context.Context, generationID string, d generation.Delivery) error {
	if !generation.IsUUID(generationID) {
		return notFound("generation %s", generationID)
	}
	if !d.Status.Final() {
		return generation.FieldError("status", "a delivery needs a final status, got %q", d.Status)
	}
	if err := finite("costUsd", d.CostUSD); err != nil {
		return err
	}
	selectedIDs := make([]string, len(d.Selected))
	ranks := make([]int, len(d.Selected))
	for i, c := range d.Selected {
		selectedIDs[i] = c.ID
		ranks[i] = i + 1
		if c.Rank != nil {
			ranks[i] = *c.Rank
		}
	}
	discardedIDs := make([]string, len(d.Discarded))
	for i, c := range d.Discarded {
		discardedIDs[i] = c.ID
	}
	if err := checkIDs("selected", selectedIDs); err != nil {
		return err
	}
	if err := checkIDs("discarded", discardedIDs); err != nil {
		return err
	}
	var completedAt *time.Time
	if !d.CompletedAt.IsZero() {
		completedAt = &d.CompletedAt
	}
	return s.inTx(ctx, "save delivery of generation "+generationID, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM generations WHERE id = $1::uuid FOR UPDATE`, generationID).Scan(&status)
		if err != nil {
			return dbError(err, "generation %s", generationID)
		}
		if generation.Status(status).Final() {
			if generation.Status(status) == d.Status {
				return nil // a retried delivery
			}
			return generation.Errorf(generation.ECONFLICT, "generation %s is already %s", generationID, status)
		}
		err = markCandidates(ctx, tx, "selected", generationID, len(selectedIDs), `
			UPDATE candidates c
			SET status = 'selected', rank = u.rank
			FROM unnest($2::uuid[], $3::int[]) AS u(id, rank)
			WHERE c.id = u.id AND c.generation_id = $1::uuid`,
			selectedIDs, ranks)
		if err != nil {
			return err
		}
		err = markCandidates(ctx, tx, "discarded", generationID, len(discardedIDs), `
			UPDATE candidates
			SET status = 'discarded', rank = NULL
			WHERE id = ANY($2::uuid[]) AND generation_id = $1::uuid`,
			discardedIDs)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE generations
			SET status = $2::text,
			    delivered_count = $3::int,
			    passed_count = $4::int,
			    generated_count = $5::int,
			    cost_usd = $6::numeric,
			    error = NULLIF($7::text, ''),
			    completed_at = COALESCE($8::timestamptz, now())
			WHERE id = $1::uuid`,
			generationID, string(d.Status), len(d.Selected), d.Passed, d.Generated, d.CostUSD, d.Reason, completedAt)
		if err != nil {
			return dbError(err, "finish generation %s", generationID)
		}
		_, err = insertFeedback(ctx, tx, d.Feedback)
		return err
	})
}

// MarkGenerationFailed sets status failed with reason and completed_at,
// unless the generation is already final (then it changes nothing).
func (s *Store) MarkGenerationFailed(ctx context.Context, generationID, reason string, at time.Time) error {
	if !generation.IsUUID(generationID) {
		return notFound("generation %s", generationID)
	}
	var completedAt *time.Time
	if !at.IsZero() {
		completedAt = &at
	}
	var found bool
	err := s.pool.QueryRow(ctx, `
		WITH target AS (SELECT id FROM generations WHERE id = $1::uuid),
		updated AS (
			UPDATE generations g
			SET status = 'failed', error = NULLIF($2::text, ''), completed_at = COALESCE($3::timestamptz, now())
			FROM target
			WHERE g.id = target.id
			  AND g.status NOT IN ('delivered', 'delivered_below_threshold', 'partial', 'failed')
		)
		SELECT EXISTS (SELECT 1 FROM target)`,
		generationID, reason, completedAt).Scan(&found)
	if err != nil {
		return dbError(err, "mark generation %s failed", generationID)
	}
	if !found {
		return notFound("generation %s", generationID)
	}
	return nil
}

// lockGeneration locks a non-final generation for the transaction and
// returns its status; ENOTFOUND if absent, ECONFLICT if final.
func lockGeneration(ctx context.Context, tx pgx.Tx, id string) (generation.Status, error) {
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM generations WHERE id = $1::uuid FOR UPDATE`, id).Scan(&status); err != nil {
		return "", dbError(err, "generation %s", id)
	}
	if generation.Status(status).Final() {
		return "", generation.Errorf(generation.ECONFLICT, "generation %s is already %s", id, status)
	}
	return generation.Status(status), nil
}

// notFound is the ENOTFOUND error for what (a formatted description).
func notFound(format string, args ...any) error {
	return generation.Errorf(generation.ENOTFOUND, format+" not found", args...)
}

// inTx runs fn in a transaction. Errors from BEGIN, COMMIT and ROLLBACK
// come from pgx, not from fn's statements, so they are classified here like
// every other database error (what names the operation); fn's own errors
// are already coded and pass through dbError unchanged. A COMMIT whose
// connection died is reported as unavailable: whether it committed is
// unknown, and every operation of the store is idempotent, so the retry is
// safe either way.
func (s *Store) inTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, s.pool, fn); err != nil {
		return dbError(err, "%s", what)
	}
	return nil
}

// SQLSTATE codes that dbError maps.
const (
	invalidTextRepresentation = "22P02" // e.g. a malformed uuid
	uniqueViolation           = "23505"
	foreignKeyViolation       = "23503"
	checkViolation            = "23514"
	notNullViolation          = "23502"
)

// transientCodes are the SQLSTATEs after which the same statement may
// succeed on retry: the server is going away or not yet ready (fast
// shutdown terminates sessions with 57P01 and refuses new ones with 57P03,
// as does a server still starting up), too many connections, and
// transaction conflicts. Class 08 (connection exception) is matched by
// prefix.
var transientCodes = map[string]bool{
	"57P01": true, // admin_shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now
	"53300": true, // too_many_connections
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
}

// markCandidates runs update (whose $1 is generationID, args the rest) to
// give n candidates of the generation their status in a delivery; fewer
// rows than n means an id that is not the generation's.
func markCandidates(ctx context.Context, tx pgx.Tx, status, generationID string, n int, update string, args ...any) error {
	tag, err := tx.Exec(ctx, update, append([]any{generationID}, args...)...)
	if err != nil {
		return dbError(err, "mark %s candidates of generation %s", status, generationID)
	}
	if int(tag.RowsAffected()) != n {
		return generation.Errorf(generation.EINVALID, "%s candidates are not all in generation %s", status, generationID)
	}
	return nil
}

// dbError maps a pgx error onto the domain's codes, once, with context:
// no rows and malformed ids are ENOTFOUND (a bad id names nothing), unique
// violations ECONFLICT, constraint violations EINVALID, transient failures
// (see transient) EUNAVAILABLE; anything else stays an internal error.
// Errors that already carry a code pass through.
func dbError(err error, format string, args ...any) error {
	var coded *generation.Error
	if errors.As(err, &coded) {
		return err
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return generation.Errorf(generation.ENOTFOUND, "%s not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case invalidTextRepresentation:
			return generation.Errorf(generation.ENOTFOUND, "%s not found", what)
		case uniqueViolation:
			return fmt.Errorf("%s: %w: %w", what, generation.Errorf(generation.ECONFLICT, "%s: already exists", what), err)
		case foreignKeyViolation:
			return fmt.Errorf("%s: %w: %w", what, generation.Errorf(generation.ENOTFOUND, "%s: a referenced row does not exist", what), err)
		case checkViolation, notNullViolation:
			// The constraint's name is for the log (the wrapped err), not
			// for the user who reads the coded message.
			return fmt.Errorf("%s: %w: %w", what, generation.Errorf(generation.EINVALID, "%s: the value is not allowed", what), err)
		}
	}
	if transient(err) {
		return fmt.Errorf("%s: %w: %w", what, generation.Errorf(generation.EUNAVAILABLE, "%s: database unavailable", what), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// transient reports a failure of the database or of the way to it rather
// than of the statement, from pgx's own signals: a server error with a
// transient SQLSTATE, a failed connect, an error pgconn says happened before
// anything was sent (SafeToRetry), a timeout, or a connection that broke
// mid-statement (EOF, reset, closed). A PgError with any other code is the
// statement's own failure.
func transient(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || transientCodes[pgErr.Code]
	}
	var connectErr *pgconn.ConnectError
	return errors.As(err, &connectErr) ||
		pgconn.SafeToRetry(err) ||
		pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		netfail.ConnectionLost(err)
}

// finite rejects NaN and ±Inf: numeric columns accept NaN, and NaN passes
// every CHECK (x >= 0).
func finite(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return generation.FieldError(field, "must be a finite number")
	}
	return nil
}

func checkIDs(field string, ids []string) error {
	for _, id := range ids {
		if !generation.IsUUID(id) {
			return generation.FieldError(field, "candidate id %q is not a UUID", id)
		}
	}
	return nil
}
