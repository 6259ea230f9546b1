package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/designerbff/pipeline/shared/generation"
)

var _ generation.Monitoring = (*Store)(nil)

// monitoringQuery is one view or function of the monitoring schema
// (migrations/015_create_monitoring.sql) and what it shows.
type monitoringQuery struct {
	name, title string
	sql         string
	thresholds  bool // takes $1 max cost per image, $2 stuck after (seconds), $3 min score
}

func view(name, title string) monitoringQuery {
	return monitoringQuery{name: name, title: title, sql: "SELECT * FROM monitoring." + name}
}

// monitoringQueries lists each section's views in the order they are shown;
// infra/monitoring/queries.sql runs the same ones for psql users.
var monitoringQueries = map[string][]monitoringQuery{
	"summary": {view("summary", "Today, 7 days and 30 days")},
	"alerts": {{name: "alerts", title: "Alerts", thresholds: true,
		sql: "SELECT * FROM monitoring.alerts($1::float8, make_interval(secs => $2::float8), $3::float8)"}},
	"quality": {
		view("quality_daily", "Quality by day"),
		view("quality_by_model", "Quality by provider and model"),
		view("quality_distribution", "Score distribution"),
	},
	"cost": {
		view("cost_daily", "Spend by day"),
		view("cost_by_model", "Cost by provider and model"),
		view("buffer_efficiency", "Buffer efficiency: images per delivered image, generated vs planned vs the exact minimum"),
	},
	"learning": {
		view("learning_daily", "Feedback by day"),
		view("learning_by_provider", "Progress by provider"),
		view("failing_modifiers", "Modifiers that fail most"),
		view("failure_reasons", "Commonest failure reasons"),
		view("reviews", "Operator reviews"),
	},
	"discard": {
		view("discard_daily", "Discards by day"),
		view("discard_by_provider", "Discards by provider and model"),
		view("discard_by_reason", "Discards by reason"),
	},
	"performance": {
		view("delivery_time", "Time to delivery by count band"),
		view("stage_time", "Time per stage"),
		view("rounds", "Rounds and top-up rate by count band"),
	},
}

// MonitoringSection runs the section's views in one read-only transaction
// (one snapshot, so its tables agree with each other).
func (s *Store) MonitoringSection(ctx context.Context, section string, q generation.MonitoringQuery) (generation.MonitoringSection, error) {
	queries, ok := monitoringQueries[section]
	if !ok {
		return generation.MonitoringSection{}, generation.Errorf(generation.ENOTFOUND, "no monitoring section %q", section)
	}
	out := generation.MonitoringSection{Name: section}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT now()").Scan(&out.At); err != nil {
			return err
		}
		for _, mq := range queries {
			var args []any
			if mq.thresholds {
				args = []any{q.MaxCostPerImageUSD, q.StuckAfter.Seconds(), q.MinScore}
			}
			t, err := readTable(ctx, tx, mq, args)
			if err != nil {
				return err
			}
			out.Tables = append(out.Tables, t)
		}
		return nil
	})
	if err != nil {
		return generation.MonitoringSection{}, dbError(err, "read monitoring section %s", section)
	}
	out.At = out.At.UTC()
	return out, nil
}

func readTable(ctx context.Context, tx pgx.Tx, mq monitoringQuery, args []any) (generation.MonitoringTable, error) {
	rows, err := tx.Query(ctx, mq.sql, args...)
	if err != nil {
		return generation.MonitoringTable{}, fmt.Errorf("%s: %w", mq.name, err)
	}
	defer rows.Close()
	t := generation.MonitoringTable{Name: mq.name, Title: mq.title, Columns: []string{}, Rows: [][]any{}}
	fields := rows.FieldDescriptions()
	for _, f := range fields {
		t.Columns = append(t.Columns, f.Name)
	}
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			return generation.MonitoringTable{}, fmt.Errorf("%s: %w", mq.name, err)
		}
		row := make([]any, len(values))
		for i, v := range values {
			if d, ok := v.(time.Time); ok && fields[i].DataTypeOID == pgtype.DateOID {
				row[i] = d.Format(time.DateOnly)
				continue
			}
			row[i] = jsonValue(v)
		}
		t.Rows = append(t.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return generation.MonitoringTable{}, fmt.Errorf("%s: %w", mq.name, err)
	}
	return t, nil
}

// jsonValue turns what pgx decodes into a plain JSON value: times RFC 3339
// UTC, numerics float64, uuids text (dates are readTable's).
func jsonValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case pgtype.Numeric:
		if !v.Valid {
			return nil
		}
		f, err := v.Float64Value()
		if err != nil || !f.Valid {
			return nil
		}
		return f.Float64
	case int32:
		return int64(v)
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", v[0:4], v[4:6], v[6:8], v[8:10], v[10:16])
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonValue(x)
		}
		return out
	}
	return v
}

// ReviewQueue returns the newest images awaiting an operator's review
// (monitoring.review_queue).
func (s *Store) ReviewQueue(ctx context.Context, limit int) ([]generation.ReviewItem, error) {
	if limit < 1 {
		return nil, generation.FieldError("limit", "must be at least 1, got %d", limit)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT candidate_id::text, generation_id::text, provider, model, status, score,
		       object_key, modifiers, why, created_at
		FROM monitoring.review_queue
		LIMIT $1::int`, limit)
	if err != nil {
		return nil, dbError(err, "read review queue")
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (generation.ReviewItem, error) {
		var it generation.ReviewItem
		err := row.Scan(&it.CandidateID, &it.GenerationID, &it.Provider, &it.Model, &it.Status, &it.Score,
			&it.ObjectKey, &it.Modifiers, &it.Why, &it.CreatedAt)
		it.CreatedAt = it.CreatedAt.UTC()
		return it, err
	})
	if err != nil {
		return nil, dbError(err, "read review queue")
	}
	return items, nil
}
