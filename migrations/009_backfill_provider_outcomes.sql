-- rebuild_provider_outcomes recomputes the incremental aggregates of
-- 008_create_provider_outcomes from the whole history, by the same rule, in
-- one pass. It backfills them here; call it again after loading data with
-- triggers off (session_replication_role = replica), or to check the
-- counters (the tests compare it with what the triggers kept).
CREATE FUNCTION rebuild_provider_outcomes() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE provider_outcomes, provider_failure_reasons IN EXCLUSIVE MODE;
    DELETE FROM provider_outcomes;
    DELETE FROM provider_failure_reasons;
    CREATE TEMPORARY TABLE IF NOT EXISTS rebuild_outcomes (
        id uuid, provider text, model text, cost numeric, ok boolean, score numeric,
        outlier boolean, reasons text[]) ON COMMIT DROP;
    TRUNCATE rebuild_outcomes;
    INSERT INTO rebuild_outcomes
    SELECT c.id, c.provider, c.model, c.cost_usd,
           CASE WHEN c.status IN ('filtered', 'failed') THEN false ELSE v.passed END,
           CASE WHEN c.status IN ('filtered', 'failed') THEN NULL ELSE v.score END,
           CASE WHEN c.status IN ('filtered', 'failed') THEN false
                ELSE EXISTS (SELECT 1 FROM unnest(v.reasons) AS r
                             WHERE btrim(split_part(r, ':', 1)) IN ('blank', 'undecodable', 'too_large')) END,
           CASE WHEN c.status IN ('filtered', 'failed')
                     THEN ARRAY[COALESCE(NULLIF(c.failure_reason, ''), c.status)]
                WHEN v.passed THEN '{}'::text[]
                WHEN cardinality(v.reasons) > 0 THEN v.reasons
                ELSE ARRAY['below_threshold'] END
    FROM candidates c
    LEFT JOIN LATERAL (
        SELECT r.passed, r.score, r.reasons FROM validation_results r
        WHERE r.candidate_id = c.id ORDER BY r.created_at DESC, r.id DESC LIMIT 1
    ) v ON c.status IN ('validated', 'selected', 'discarded')
    WHERE c.status IN ('filtered', 'failed')
       OR (c.status IN ('validated', 'selected', 'discarded') AND v.passed IS NOT NULL);
    INSERT INTO provider_outcomes (provider, model, passes, failures, scored, score_sum,
        score_square_sum, outliers, cost_sum)
    SELECT provider, model, count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok),
           count(score), COALESCE(sum(score), 0), COALESCE(sum(score * score), 0),
           count(*) FILTER (WHERE outlier), sum(cost)
    FROM rebuild_outcomes GROUP BY provider, model;
    INSERT INTO provider_failure_reasons (provider, model, reason, failures)
    SELECT provider, model, code, count(DISTINCT id)
    FROM rebuild_outcomes, unnest(reasons) AS r, btrim(split_part(r, ':', 1)) AS code
    WHERE NOT ok
    GROUP BY provider, model, code;
END;
$$;

SELECT rebuild_provider_outcomes();

---- create above / drop below ----

DROP FUNCTION rebuild_provider_outcomes();
