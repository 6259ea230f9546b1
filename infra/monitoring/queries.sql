-- The monitoring sections for psql users: the views and functions of the
-- monitoring schema (migrations/015_create_monitoring.sql), in the order the
-- dashboard and `go run ./infra/local monitor` show them.
--
--   psql "$DATABASE_URL" -f infra/monitoring/queries.sql
--   psql "$DATABASE_URL" -v max_cost_per_image=0.10 -v stuck_after='30 minutes' -f infra/monitoring/queries.sql
--
-- As of another moment: add -c "SET monitoring.now = '2026-03-01 12:00+00'"
-- before -f (every view reads monitoring.clock()).
\set ON_ERROR_STOP on
\pset null '-'
\if :{?max_cost_per_image}
\else
\set max_cost_per_image 0.25
\endif
\if :{?stuck_after}
\else
\set stuck_after '15 minutes'
\endif
\if :{?min_score}
\else
\set min_score 70
\endif

\echo '== summary =='
SELECT * FROM monitoring.summary;

\echo '== alerts =='
SELECT * FROM monitoring.alerts(:max_cost_per_image::float8, :'stuck_after'::interval, :min_score::float8);

\echo '== quality =='
SELECT * FROM monitoring.quality_daily;
SELECT * FROM monitoring.quality_by_model;
SELECT * FROM monitoring.quality_distribution;

\echo '== cost =='
SELECT * FROM monitoring.cost_daily;
SELECT * FROM monitoring.cost_by_model;
SELECT * FROM monitoring.buffer_efficiency;

\echo '== learning =='
SELECT * FROM monitoring.learning_daily;
SELECT * FROM monitoring.learning_by_provider;
SELECT * FROM monitoring.failing_modifiers;
SELECT * FROM monitoring.failure_reasons;
SELECT * FROM monitoring.reviews;

\echo '== discard =='
SELECT * FROM monitoring.discard_daily;
SELECT * FROM monitoring.discard_by_provider;
SELECT * FROM monitoring.discard_by_reason;

\echo '== performance =='
SELECT * FROM monitoring.delivery_time;
SELECT * FROM monitoring.stage_time;
SELECT * FROM monitoring.rounds;

\echo '== review queue =='
SELECT candidate_id, provider, model, score, why, created_at FROM monitoring.review_queue LIMIT 50;
