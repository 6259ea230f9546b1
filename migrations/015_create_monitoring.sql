-- Monitoring: what operators read (psql: infra/monitoring/queries.sql; the
-- CLI: go run ./infra/local monitor; the API: GET /v1/monitoring/{section}
-- and /dashboard). Every view reads the live columns, so it is current the
-- moment a row changes; nothing here is a copy that could drift.
--
-- Vocabulary (the same in every view):
--   outcome    a candidate's absolute result: passed when its latest verdict
--              passed (validated, selected or discarded), failed when it was
--              filtered, failed or its latest verdict did not pass, errored
--              when infrastructure lost it (no outcome for the pass rate);
--              pending (planned, stored) has none yet.
--   discarded  an image that failed or errored. A passed image that was not
--              needed (surplus) is not a discard.
--   delivered  a selected candidate.
--   day        the UTC calendar day of created_at.
-- Trends cover the last 30 days; "24 h" windows end now() (monitoring.clock()).

-- Time per stage needs the moment an image was generated: the generate stage
-- moves a candidate out of planned (stored, filtered, failed) or errored.
-- A trigger records it, so every writer (the pipeline, the Map's Catch,
-- the sweeper) records it the same way. Earlier rows keep NULL and are left
-- out of the stage times.
ALTER TABLE candidates ADD COLUMN generated_at timestamptz;

CREATE FUNCTION candidates_set_generated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'planned' AND NEW.generated_at IS NULL
       AND (TG_OP = 'INSERT' OR OLD.status = 'planned') THEN
        NEW.generated_at := now();
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER candidates_generated_at
    BEFORE INSERT OR UPDATE OF status ON candidates
    FOR EACH ROW EXECUTE FUNCTION candidates_set_generated_at();

-- The views read the last 30 days of candidates and feedback.
CREATE INDEX candidates_created_idx ON candidates (created_at);
CREATE INDEX rlhf_feedback_created_idx ON rlhf_feedback (created_at);

-- An operator's review of a flagged image (approve or reject) is a feedback
-- event of its own type, folded like a user rating with its own weight
-- (shared/learning ReviewWeight).
ALTER TABLE rlhf_feedback DROP CONSTRAINT rlhf_feedback_feedback_type_check;
ALTER TABLE rlhf_feedback ADD CONSTRAINT rlhf_feedback_feedback_type_check
    CHECK (feedback_type IN ('selected', 'discarded', 'failed', 'filtered', 'high_quality',
                             'user_rating', 'operator_review'));

CREATE SCHEMA monitoring;

-- The clock of every view: now(), unless the session sets monitoring.now
-- (SET monitoring.now = '2026-03-01 12:00+00'), so a report can be run "as
-- of" a moment and the tests have a fixed clock.
CREATE FUNCTION monitoring.clock() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(NULLIF(current_setting('monitoring.now', true), '')::timestamptz, now())
$$;

-- One row per candidate with its latest verdict and outcome.
CREATE VIEW monitoring.candidate_outcomes AS
SELECT c.id,
       c.generation_id,
       c.round,
       c.provider,
       c.model,
       c.status,
       c.cost_usd::float8 AS cost_usd,
       c.created_at,
       c.generated_at,
       (c.created_at AT TIME ZONE 'UTC')::date AS day,
       v.score::float8 AS score,
       v.flagged,
       v.created_at AS verdict_at,
       CASE WHEN c.status = 'errored' THEN 'errored'
            WHEN c.status IN ('filtered', 'failed') THEN 'failed'
            WHEN c.status IN ('validated', 'selected', 'discarded') AND v.passed THEN 'passed'
            WHEN c.status IN ('validated', 'selected', 'discarded') AND NOT v.passed THEN 'failed'
            ELSE 'pending' END AS outcome,
       -- Reason codes (text before the first ':'), once each.
       CASE WHEN c.status IN ('filtered', 'failed', 'errored')
                 THEN ARRAY[btrim(split_part(COALESCE(NULLIF(c.failure_reason, ''), c.status), ':', 1))]
            WHEN v.passed IS FALSE AND cardinality(v.reasons) > 0
                 THEN ARRAY(SELECT DISTINCT btrim(split_part(r, ':', 1)) FROM unnest(v.reasons) r ORDER BY 1)
            WHEN v.passed IS FALSE THEN ARRAY['below_threshold']
            ELSE '{}'::text[] END AS reasons
FROM candidates c
LEFT JOIN LATERAL (
    SELECT r.score, r.passed, r.flagged, r.reasons, r.created_at
    FROM validation_results r
    WHERE r.candidate_id = c.id
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT 1
) v ON true;

-- ---------------------------------------------------------------- quality

CREATE VIEW monitoring.quality_daily AS
SELECT day,
       count(*) FILTER (WHERE outcome IN ('passed', 'failed'))                  AS images,
       count(*) FILTER (WHERE outcome = 'passed')                               AS passed,
       round((count(*) FILTER (WHERE outcome = 'passed'))::numeric
             / NULLIF(count(*) FILTER (WHERE outcome IN ('passed', 'failed')), 0), 4)::float8 AS pass_rate,
       round(avg(score)::numeric, 2)::float8                                    AS avg_score,
       round((avg(score) FILTER (WHERE status = 'selected'))::numeric, 2)::float8 AS avg_delivered_score
FROM monitoring.candidate_outcomes
WHERE created_at >= monitoring.clock() - interval '30 days'
GROUP BY day
ORDER BY day;

CREATE VIEW monitoring.quality_by_model AS
SELECT provider,
       model,
       count(*) FILTER (WHERE outcome IN ('passed', 'failed'))                  AS images,
       count(*) FILTER (WHERE outcome = 'passed')                               AS passed,
       round((count(*) FILTER (WHERE outcome = 'passed'))::numeric
             / NULLIF(count(*) FILTER (WHERE outcome IN ('passed', 'failed')), 0), 4)::float8 AS pass_rate,
       round(avg(score)::numeric, 2)::float8                                    AS avg_score,
       round((avg(score) FILTER (WHERE status = 'selected'))::numeric, 2)::float8 AS avg_delivered_score
FROM monitoring.candidate_outcomes
WHERE created_at >= monitoring.clock() - interval '30 days'
GROUP BY provider, model
ORDER BY provider, model;

-- Scored images in the earlier system's buckets; every bucket is listed,
-- empty ones with 0.
CREATE VIEW monitoring.quality_distribution AS
WITH buckets (bucket, lo, hi, ord) AS (
    VALUES ('90-100', 90, 1000, 1), ('80-89', 80, 90, 2), ('70-79', 70, 80, 3),
           ('60-69', 60, 70, 4), ('0-59', -1, 60, 5)
), scored AS (
    SELECT score FROM monitoring.candidate_outcomes
    WHERE score IS NOT NULL AND created_at >= monitoring.clock() - interval '30 days'
)
SELECT b.bucket,
       count(s.score) AS images,
       round(count(s.score)::numeric / NULLIF((SELECT count(*) FROM scored), 0), 4)::float8 AS share
FROM buckets b
LEFT JOIN scored s ON s.score >= b.lo AND s.score < b.hi
GROUP BY b.bucket, b.ord
ORDER BY b.ord;

-- ---------------------------------------------------------------- cost

CREATE VIEW monitoring.cost_daily AS
SELECT day,
       round(sum(cost_usd)::numeric, 6)::float8                                AS spend_usd,
       count(*) FILTER (WHERE status = 'selected')                             AS delivered,
       round((sum(cost_usd) / NULLIF(count(*) FILTER (WHERE status = 'selected'), 0))::numeric, 6)::float8
                                                                               AS cost_per_delivered_usd
FROM monitoring.candidate_outcomes
WHERE created_at >= monitoring.clock() - interval '30 days'
GROUP BY day
ORDER BY day;

-- cost per quality point: spend divided by the summed scores of the
-- delivered images (what a point of delivered quality cost).
CREATE VIEW monitoring.cost_by_model AS
SELECT provider,
       model,
       round(sum(cost_usd)::numeric, 6)::float8                                AS spend_usd,
       count(*) FILTER (WHERE status = 'selected')                             AS delivered,
       round((sum(cost_usd) / NULLIF(count(*) FILTER (WHERE status = 'selected'), 0))::numeric, 6)::float8
                                                                               AS cost_per_delivered_usd,
       round((sum(cost_usd) / NULLIF(sum(score) FILTER (WHERE status = 'selected'), 0))::numeric, 8)::float8
                                                                               AS cost_per_quality_point_usd
FROM monitoring.candidate_outcomes
WHERE created_at >= monitoring.clock() - interval '30 days'
GROUP BY provider, model
ORDER BY provider, model;

-- min_images is the exact minimum M for a pass rate p: the smallest M with
-- P(Binomial(M, p) >= n) >= c, what an oracle that knew p would generate.
-- P(X >= n) grows with M, so a binary search over [n, hi] finds it; the tail
-- is summed in log space (the pmf recurrence from log (1-p)^M), so large M
-- neither underflows nor overflows. NULL when p is 0 or unknown, or when
-- no M up to 100,000 suffices.
CREATE FUNCTION monitoring.binomial_at_least(p_m integer, p_n integer, p_p float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    logpmf float8;
    logs   float8[] := '{}';
    top    float8;
    below  float8 := 0;
    k      integer;
BEGIN
    IF p_n <= 0 THEN
        RETURN 1;
    END IF;
    IF p_m < p_n THEN
        RETURN 0;
    END IF;
    IF p_p >= 1 THEN
        RETURN 1;
    END IF;
    -- P(X <= n-1) = sum_{k<n} pmf(k); 1 minus it is the answer.
    logpmf := p_m * ln(1 - p_p);
    FOR k IN 0 .. p_n - 1 LOOP
        logs := logs || logpmf;
        logpmf := logpmf + ln((p_m - k)::float8 / (k + 1)) + ln(p_p) - ln(1 - p_p);
    END LOOP;
    SELECT max(x) INTO top FROM unnest(logs) x;
    SELECT sum(exp(x - top)) INTO below FROM unnest(logs) x;
    RETURN GREATEST(0, 1 - exp(top) * below);
END;
$$;

CREATE FUNCTION monitoring.min_images(p_n integer, p_p float8, p_c float8) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    lo  integer := p_n;
    hi  integer := p_n;
    mid integer;
BEGIN
    IF p_n IS NULL OR p_p IS NULL OR p_c IS NULL OR p_p <= 0 THEN
        RETURN NULL;
    END IF;
    IF p_n <= 0 THEN
        RETURN 0;
    END IF;
    WHILE monitoring.binomial_at_least(hi, p_n, p_p) < p_c LOOP
        IF hi >= 100000 THEN
            RETURN NULL;
        END IF;
        lo := hi + 1;
        hi := LEAST(hi * 2, 100000);
    END LOOP;
    WHILE lo < hi LOOP
        mid := (lo + hi) / 2;
        IF monitoring.binomial_at_least(mid, p_n, p_p) >= p_c THEN
            hi := mid;
        ELSE
            lo := mid + 1;
        END IF;
    END LOOP;
    RETURN hi;
END;
$$;

-- Buffer efficiency per provider and model over final generations that
-- delivered something: images generated (candidates with an outcome) per
-- image delivered, against the planner's first round per image delivered
-- (what it predicted it needed) and against the exact minimum M* for the
-- measured pass rate p of that provider and model (min_images of each
-- generation's count at its target confidence).
CREATE VIEW monitoring.buffer_efficiency AS
WITH rates AS (
    SELECT provider, model,
           (count(*) FILTER (WHERE outcome = 'passed'))::float8
             / NULLIF(count(*) FILTER (WHERE outcome IN ('passed', 'failed')), 0) AS p
    FROM monitoring.candidate_outcomes
    GROUP BY provider, model
), gens AS (
    -- A generation that named no model is attributed to its candidates'.
    SELECT g.id, g.provider,
           COALESCE(NULLIF(g.model, ''), (SELECT min(c.model) FROM candidates c WHERE c.generation_id = g.id), '') AS model,
           g.requested_count, g.target_confidence, g.delivered_count,
           (SELECT count(*) FROM candidates c WHERE c.generation_id = g.id
              AND c.status NOT IN ('planned', 'stored')) AS generated,
           (SELECT count(*) FROM candidates c WHERE c.generation_id = g.id AND c.round = 1) AS first_round
    FROM generations g
    WHERE g.status IN ('delivered', 'delivered_below_threshold', 'partial')
      AND g.delivered_count > 0
      AND g.created_at >= monitoring.clock() - interval '30 days'
)
SELECT g.provider,
       g.model,
       count(*)                                                                AS generations,
       sum(g.generated)                                                        AS generated,
       sum(g.delivered_count)                                                  AS delivered,
       round(r.p::numeric, 4)::float8                                          AS pass_rate,
       round((sum(g.generated)::numeric / sum(g.delivered_count)), 4)::float8  AS generated_per_delivered,
       round((sum(g.first_round)::numeric / sum(g.delivered_count)), 4)::float8 AS planned_per_delivered,
       round((sum(monitoring.min_images(g.requested_count, r.p, g.target_confidence))::numeric
              / sum(g.delivered_count)), 4)::float8                            AS minimum_per_delivered
FROM gens g
LEFT JOIN rates r USING (provider, model)
GROUP BY g.provider, g.model, r.p
ORDER BY g.provider, g.model;

-- ---------------------------------------------------------------- learning

CREATE VIEW monitoring.learning_daily AS
SELECT (created_at AT TIME ZONE 'UTC')::date                    AS day,
       count(*)                                                 AS events,
       count(*) FILTER (WHERE is_positive)                      AS positive,
       count(*) FILTER (WHERE is_negative)                      AS negative,
       count(*) FILTER (WHERE processed_at IS NULL)             AS unfolded
FROM rlhf_feedback
WHERE created_at >= monitoring.clock() - interval '30 days'
GROUP BY 1
ORDER BY 1;

-- Progress: the pass rate of the last 7 days against the 7 before, and what
-- the learner holds (modifiers and the outcomes folded into them).
CREATE VIEW monitoring.learning_by_provider AS
WITH outcomes AS (
    SELECT provider,
           (count(*) FILTER (WHERE outcome = 'passed' AND created_at >= monitoring.clock() - interval '7 days'))::numeric
             / NULLIF(count(*) FILTER (WHERE outcome IN ('passed', 'failed') AND created_at >= monitoring.clock() - interval '7 days'), 0) AS last_7d,
           (count(*) FILTER (WHERE outcome = 'passed' AND created_at < monitoring.clock() - interval '7 days'
                                 AND created_at >= monitoring.clock() - interval '14 days'))::numeric
             / NULLIF(count(*) FILTER (WHERE outcome IN ('passed', 'failed') AND created_at < monitoring.clock() - interval '7 days'
                                           AND created_at >= monitoring.clock() - interval '14 days'), 0) AS previous_7d
    FROM monitoring.candidate_outcomes
    GROUP BY provider
), learned AS (
    SELECT provider, count(*) AS modifiers, sum(samples) AS samples
    FROM attribute_stats GROUP BY provider
), providers AS (
    SELECT provider FROM outcomes UNION SELECT provider FROM learned
)
SELECT p.provider,
       COALESCE(l.modifiers, 0)                                 AS modifiers,
       COALESCE(l.samples, 0)                                   AS samples,
       round(o.last_7d, 4)::float8                              AS pass_rate_7d,
       round(o.previous_7d, 4)::float8                          AS pass_rate_previous_7d,
       round(o.last_7d - o.previous_7d, 4)::float8              AS change
FROM providers p
LEFT JOIN outcomes o USING (provider)
LEFT JOIN learned l USING (provider)
ORDER BY p.provider;

-- The modifiers that fail most: posterior mean failure rate under the
-- Jeffreys prior, (failures + ½) / (passes + failures + 1), of modifiers
-- with at least 3 outcomes.
CREATE VIEW monitoring.failing_modifiers AS
SELECT provider,
       attribute                                                AS modifier,
       round(passes::numeric, 3)::float8                        AS passes,
       round(failures::numeric, 3)::float8                      AS failures,
       samples,
       round(((failures + 0.5) / (passes + failures + 1))::numeric, 4)::float8 AS failure_rate
FROM attribute_stats
WHERE samples >= 3
ORDER BY failure_rate DESC, samples DESC, provider, attribute
LIMIT 20;

-- The commonest failure reasons of the last 30 days: images per reason code
-- (an image with two codes counts under each).
CREATE VIEW monitoring.failure_reasons AS
SELECT provider, reason, count(*) AS images
FROM monitoring.candidate_outcomes, unnest(reasons) AS reason
WHERE outcome = 'failed' AND created_at >= monitoring.clock() - interval '30 days'
GROUP BY provider, reason
ORDER BY images DESC, provider, reason
LIMIT 20;

-- ---------------------------------------------------------------- review

-- The review queue: images an operator should look at, not yet reviewed.
-- Flagged means either that it passed within VALIDATION_AUTO_FLAG_THRESHOLD
-- points of the pass threshold (the verdict's flagged) or that a user rated
-- it 1 or 2.
CREATE VIEW monitoring.review_queue AS
SELECT o.id AS candidate_id,
       o.generation_id,
       o.provider,
       o.model,
       o.status,
       o.score,
       c.object_key,
       c.modifiers,
       CASE WHEN o.flagged AND o.outcome = 'passed' AND low.n > 0 THEN 'borderline score, rated low'
            WHEN o.flagged AND o.outcome = 'passed' THEN 'borderline score'
            ELSE 'rated low' END AS why,
       o.created_at
FROM monitoring.candidate_outcomes o
JOIN candidates c ON c.id = o.id
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM rlhf_feedback f
    WHERE f.candidate_id = o.id AND f.feedback_type = 'user_rating' AND f.is_negative
) low
WHERE c.object_key IS NOT NULL
  AND ((o.flagged AND o.outcome = 'passed') OR low.n > 0)
  AND NOT EXISTS (SELECT 1 FROM rlhf_feedback f
                  WHERE f.candidate_id = o.id AND f.feedback_type = 'operator_review')
ORDER BY o.created_at DESC, o.id;

CREATE VIEW monitoring.reviews AS
SELECT (SELECT count(*) FROM monitoring.review_queue)                                  AS pending,
       count(*) FILTER (WHERE is_positive)                                             AS approved,
       count(*) FILTER (WHERE is_negative)                                             AS rejected
FROM rlhf_feedback
WHERE feedback_type = 'operator_review';

-- ---------------------------------------------------------------- discard

CREATE VIEW monitoring.discard_daily AS
SELECT day,
       count(*) FILTER (WHERE outcome IN ('passed', 'failed', 'errored'))  AS images,
       count(*) FILTER (WHERE outcome IN ('failed', 'errored'))               AS discarded,
       round((count(*) FILTER (WHERE outcome IN ('failed', 'errored')))::numeric
             / NULLIF(count(*) FILTER (WHERE outcome IN ('passed', 'failed', 'errored')), 0), 4)::float8 AS discard_rate
FROM monitoring.candidate_outcomes
WHERE created_at >= monitoring.clock() - interval '30 days'
GROUP BY day
ORDER BY day;

CREATE VIEW monitoring.discard_by_provider AS
SELECT provider,
       model,
       count(*) FILTER (WHERE outcome IN ('passed', 'failed', 'errored'))  AS images,
       count(*) FILTER (WHERE outcome IN ('failed', 'errored'))               AS discarded,
       round((count(*) FILTER (WHERE outcome IN ('failed', 'errored')))::numeric
             / NULLIF(count(*) FILTER (WHERE outcome IN ('passed', 'failed', 'errored')), 0), 4)::float8 AS discard_rate
FROM monitoring.candidate_outcomes
WHERE created_at >= monitoring.clock() - interval '30 days'
GROUP BY provider, model
ORDER BY provider, model;

-- Discarded images per reason code; share is of the discarded images (an
-- image with two codes counts under each, so shares may sum above 1).
CREATE VIEW monitoring.discard_by_reason AS
WITH failed AS (
    SELECT id, reasons FROM monitoring.candidate_outcomes
    WHERE outcome IN ('failed', 'errored') AND created_at >= monitoring.clock() - interval '30 days'
)
SELECT reason,
       count(*)                                                          AS discarded,
       round(count(*)::numeric / (SELECT count(*) FROM failed), 4)::float8 AS share
FROM failed, unnest(reasons) AS reason
GROUP BY reason
ORDER BY discarded DESC, reason;

-- ---------------------------------------------------------------- performance

CREATE FUNCTION monitoring.count_band(n integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n <= 1 THEN '1' WHEN n <= 5 THEN '2-5' WHEN n <= 20 THEN '6-20' ELSE '21-100' END
$$;

-- Seconds from request to final status, per requested-count band, over
-- the generations that delivered something.
CREATE VIEW monitoring.delivery_time AS
SELECT monitoring.count_band(requested_count)                          AS count_band,
       count(*)                                                         AS generations,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at))::numeric, 2)::float8 AS p50_seconds,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at))::numeric, 2)::float8 AS p95_seconds
FROM generations
WHERE status IN ('delivered', 'delivered_below_threshold', 'partial')
  AND completed_at IS NOT NULL
  AND created_at >= monitoring.clock() - interval '30 days'
GROUP BY 1
ORDER BY min(requested_count);

-- Seconds per stage: plan (request → its first candidate row), generate
-- (candidate row → generated_at), validate (generated_at → verdict) and
-- deliver (the generation's last verdict → final status).
CREATE VIEW monitoring.stage_time AS
WITH stages AS (
    SELECT 'plan' AS stage, 1 AS ord, extract(epoch FROM min(c.created_at) - g.created_at) AS seconds
    FROM generations g JOIN candidates c ON c.generation_id = g.id
    WHERE g.created_at >= monitoring.clock() - interval '30 days'
    GROUP BY g.id
    UNION ALL
    SELECT 'generate', 2, extract(epoch FROM generated_at - created_at)
    FROM monitoring.candidate_outcomes
    WHERE generated_at IS NOT NULL AND created_at >= monitoring.clock() - interval '30 days'
    UNION ALL
    SELECT 'validate', 3, extract(epoch FROM verdict_at - generated_at)
    FROM monitoring.candidate_outcomes
    WHERE generated_at IS NOT NULL AND verdict_at IS NOT NULL AND created_at >= monitoring.clock() - interval '30 days'
    UNION ALL
    SELECT 'deliver', 4, extract(epoch FROM g.completed_at - max(o.verdict_at))
    FROM generations g JOIN monitoring.candidate_outcomes o ON o.generation_id = g.id
    WHERE g.completed_at IS NOT NULL AND g.created_at >= monitoring.clock() - interval '30 days'
      AND g.status IN ('delivered', 'delivered_below_threshold', 'partial')
    GROUP BY g.id, g.completed_at
    HAVING max(o.verdict_at) IS NOT NULL
)
SELECT stage,
       count(*)                                                                   AS samples,
       round(avg(seconds)::numeric, 3)::float8                                    AS avg_seconds,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds)::numeric, 3)::float8 AS p95_seconds
FROM stages
GROUP BY stage, ord
ORDER BY ord;

-- Rounds per final generation and the share that needed a top-up (more
-- than one round), per requested-count band.
CREATE VIEW monitoring.rounds AS
SELECT monitoring.count_band(requested_count)                          AS count_band,
       count(*)                                                         AS generations,
       round(avg(rounds)::numeric, 3)::float8                           AS avg_rounds,
       max(rounds)                                                      AS max_rounds,
       round((count(*) FILTER (WHERE rounds > 1))::numeric / count(*), 4)::float8 AS topup_rate
FROM generations
WHERE status IN ('delivered', 'delivered_below_threshold', 'partial', 'failed')
  AND created_at >= monitoring.clock() - interval '30 days'
GROUP BY 1
ORDER BY min(requested_count);

-- ---------------------------------------------------------------- alerts

-- Each alert with its measured value, its threshold and whether it fires.
-- p_max_cost_per_image is MONITORING_MAX_COST_PER_IMAGE_USD; p_stuck_after
-- is GENERATION_STALL_TIMEOUT; p_min_score VALIDATION_MIN_SCORE (70).
CREATE FUNCTION monitoring.alerts(
    p_max_cost_per_image float8 DEFAULT 0.25,
    p_stuck_after interval DEFAULT interval '15 minutes',
    p_min_score float8 DEFAULT 70)
RETURNS TABLE (alert text, firing boolean, value float8, threshold float8, detail text)
LANGUAGE sql STABLE AS $$
    WITH day AS (
        SELECT * FROM monitoring.candidate_outcomes WHERE created_at >= monitoring.clock() - interval '24 hours'
    ), m AS (
        SELECT (count(*) FILTER (WHERE outcome IN ('failed', 'errored')))::float8
                 / NULLIF(count(*) FILTER (WHERE outcome IN ('passed', 'failed', 'errored')), 0) AS discard_rate,
               avg(score) FILTER (WHERE status = 'selected')                         AS delivered_score,
               sum(cost_usd) / NULLIF(count(*) FILTER (WHERE status = 'selected'), 0) AS cost_per_image
        FROM day
    )
    SELECT 'discard_rate_24h', COALESCE(discard_rate > 0.30, false), round(discard_rate::numeric, 4)::float8, 0.30::float8,
           'share of the last 24 h''s images that failed'
    FROM m
    UNION ALL
    SELECT 'avg_delivered_score_24h', COALESCE(delivered_score < p_min_score, false),
           round(delivered_score::numeric, 2)::float8, p_min_score, 'mean score of the images delivered in the last 24 h'
    FROM m
    UNION ALL
    SELECT 'failed_generations_24h', count(*) > 0, count(*)::float8, 0::float8, 'generations that ended failed in the last 24 h'
    FROM generations WHERE status = 'failed' AND completed_at >= monitoring.clock() - interval '24 hours'
    UNION ALL
    SELECT 'stuck_generations', count(*) > 0, count(*)::float8, 0::float8,
           'unfinished generations with no progress for ' || p_stuck_after::text
    FROM generations
    WHERE status IN ('planning', 'generating', 'selecting') AND updated_at < monitoring.clock() - p_stuck_after
    UNION ALL
    SELECT 'unfolded_feedback_backlog', count(*) > 0, count(*)::float8, 0::float8,
           'feedback rows older than 15 minutes the learner has not folded'
    FROM rlhf_feedback WHERE processed_at IS NULL AND created_at < monitoring.clock() - interval '15 minutes'
    UNION ALL
    SELECT 'cost_per_delivered_image_24h', COALESCE(cost_per_image > p_max_cost_per_image, false),
           round(cost_per_image::numeric, 6)::float8, p_max_cost_per_image,
           'spend of the last 24 h per image delivered'
    FROM m
$$;

-- ---------------------------------------------------------------- summary

CREATE VIEW monitoring.summary AS
WITH periods (period, since, ord) AS (
    VALUES ('today', date_trunc('day', monitoring.clock() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 1),
           ('7d', monitoring.clock() - interval '7 days', 2),
           ('30d', monitoring.clock() - interval '30 days', 3)
)
SELECT p.period,
       (SELECT count(*) FROM generations g WHERE g.created_at >= p.since)                AS generations,
       (SELECT count(*) FROM generations g WHERE g.created_at >= p.since
          AND g.status IN ('delivered', 'delivered_below_threshold'))                     AS delivered_generations,
       count(o.id) FILTER (WHERE o.outcome IN ('passed', 'failed', 'errored'))            AS images,
       count(o.id) FILTER (WHERE o.status = 'selected')                                   AS delivered_images,
       round((count(o.id) FILTER (WHERE o.outcome = 'passed'))::numeric
             / NULLIF(count(o.id) FILTER (WHERE o.outcome IN ('passed', 'failed')), 0), 4)::float8 AS pass_rate,
       round((count(o.id) FILTER (WHERE o.outcome IN ('failed', 'errored')))::numeric
             / NULLIF(count(o.id) FILTER (WHERE o.outcome IN ('passed', 'failed', 'errored')), 0), 4)::float8 AS discard_rate,
       round((avg(o.score) FILTER (WHERE o.status = 'selected'))::numeric, 2)::float8     AS avg_delivered_score,
       round(COALESCE(sum(o.cost_usd), 0)::numeric, 6)::float8                            AS spend_usd,
       round((sum(o.cost_usd) / NULLIF(count(o.id) FILTER (WHERE o.status = 'selected'), 0))::numeric, 6)::float8
                                                                                          AS cost_per_delivered_usd,
       (SELECT count(*) FROM monitoring.review_queue)                                     AS review_queue
FROM periods p
LEFT JOIN monitoring.candidate_outcomes o ON o.created_at >= p.since
GROUP BY p.period, p.since, p.ord
ORDER BY p.ord;

---- create above / drop below ----

DROP SCHEMA monitoring CASCADE;
-- Reviews have no type before this migration; the learner has folded them.
DELETE FROM rlhf_feedback WHERE feedback_type = 'operator_review';
ALTER TABLE rlhf_feedback DROP CONSTRAINT rlhf_feedback_feedback_type_check;
ALTER TABLE rlhf_feedback ADD CONSTRAINT rlhf_feedback_feedback_type_check
    CHECK (feedback_type IN ('selected', 'discarded', 'failed', 'filtered', 'high_quality', 'user_rating'));
DROP INDEX rlhf_feedback_created_idx;
DROP INDEX candidates_created_idx;
DROP TRIGGER candidates_generated_at ON candidates;
DROP FUNCTION candidates_set_generated_at();
ALTER TABLE candidates DROP COLUMN generated_at;
