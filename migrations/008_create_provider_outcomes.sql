-- Incremental aggregates of absolute candidate outcomes per provider and
-- model, kept by triggers, so that recalibration reads a few rows instead of
-- the whole history (it took seconds on 1,000,000 verdicts; see
-- docs/buffer-benchmark.md).
--
-- A candidate's contribution is a function of the current rows (its status,
-- failure reason and cost, and its latest verdict): it passes when it is
-- validated, selected or discarded and its latest verdict passed; it fails
-- when it was filtered or failed, or its latest verdict did not pass;
-- planned and stored candidates contribute nothing. Never "not in the top
-- N". Every change subtracts the candidate's contribution as it was and
-- adds it as it is: updates and deletes in BEFORE/AFTER row-trigger pairs;
-- a verdict's insert in its AFTER trigger alone (the contribution without
-- the new row, then with it), because INSERT … ON CONFLICT DO NOTHING fires
-- BEFORE INSERT triggers for rows it then skips. So inserts, retries,
-- updates (a verdict marked duplicate, a newer validator version) and
-- deletes keep the sums exact; sums are numeric, so subtracting what was
-- added leaves no rounding drift. One limit: a single statement that changes
-- two verdicts of the same candidate is counted wrongly (the pipeline never
-- does that); rebuild_provider_outcomes() (009) recomputes everything.
CREATE TABLE provider_outcomes (
    provider         text NOT NULL,
    model            text NOT NULL,
    passes           bigint NOT NULL DEFAULT 0,
    failures         bigint NOT NULL DEFAULT 0,
    scored           bigint NOT NULL DEFAULT 0,
    score_sum        numeric NOT NULL DEFAULT 0,
    score_square_sum numeric NOT NULL DEFAULT 0,
    -- Verdicts with a hard-fail reason: broken images, not weak ones.
    outliers         bigint NOT NULL DEFAULT 0,
    cost_sum         numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, model)
);

-- Failed candidates per reason code (a reason's text before its first ':');
-- a candidate with several reasons counts once under each.
CREATE TABLE provider_failure_reasons (
    provider text NOT NULL,
    model    text NOT NULL,
    reason   text NOT NULL,
    failures bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, model, reason)
);

-- candidate_outcome_apply adds (sign = 1) or subtracts (sign = -1) the
-- candidate's current contribution, ignoring the verdict p_exclude. The provider_outcomes row is always
-- locked before the reason rows, and reasons in sorted order, so concurrent
-- writers cannot deadlock on them.
CREATE FUNCTION candidate_outcome_apply(p_candidate uuid, p_sign integer, p_exclude uuid DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    c        record;
    v        record;
    ok       boolean;
    score    numeric;
    outlier  boolean;
    reasons  text[];
BEGIN
    SELECT id, provider, model, status, failure_reason, cost_usd INTO c
    FROM candidates WHERE id = p_candidate;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF c.status IN ('filtered', 'failed') THEN
        ok := false;
        outlier := false;
        reasons := ARRAY[COALESCE(NULLIF(c.failure_reason, ''), c.status)];
    ELSIF c.status IN ('validated', 'selected', 'discarded') THEN
        SELECT r.passed, r.score, r.reasons INTO v
        FROM validation_results r
        WHERE r.candidate_id = p_candidate AND r.id IS DISTINCT FROM p_exclude
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT 1;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        ok := v.passed;
        score := v.score;
        outlier := EXISTS (SELECT 1 FROM unnest(v.reasons) AS r
                           WHERE btrim(split_part(r, ':', 1)) IN ('blank', 'undecodable', 'too_large'));
        reasons := CASE WHEN v.passed THEN '{}'::text[]
                        WHEN cardinality(v.reasons) > 0 THEN v.reasons
                        ELSE ARRAY['below_threshold'] END;
    ELSE
        RETURN;
    END IF;

    INSERT INTO provider_outcomes AS o (provider, model, passes, failures, scored, score_sum,
        score_square_sum, outliers, cost_sum)
    VALUES (c.provider, c.model,
            p_sign * ok::int, p_sign * (NOT ok)::int, p_sign * (score IS NOT NULL)::int,
            p_sign * COALESCE(score, 0), p_sign * COALESCE(score * score, 0),
            p_sign * outlier::int, p_sign * c.cost_usd)
    ON CONFLICT (provider, model) DO UPDATE
    SET passes = o.passes + excluded.passes,
        failures = o.failures + excluded.failures,
        scored = o.scored + excluded.scored,
        score_sum = o.score_sum + excluded.score_sum,
        score_square_sum = o.score_square_sum + excluded.score_square_sum,
        outliers = o.outliers + excluded.outliers,
        cost_sum = o.cost_sum + excluded.cost_sum;

    IF NOT ok THEN
        INSERT INTO provider_failure_reasons AS f (provider, model, reason, failures)
        SELECT c.provider, c.model, code, p_sign
        FROM (SELECT DISTINCT btrim(split_part(r, ':', 1)) AS code FROM unnest(reasons) AS r) codes
        ORDER BY code
        ON CONFLICT (provider, model, reason) DO UPDATE
        SET failures = f.failures + excluded.failures;
    END IF;
END;
$$;

CREATE FUNCTION candidate_outcome_subtract() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'candidates' THEN
        PERFORM candidate_outcome_apply(OLD.id, -1);
    ELSE
        PERFORM candidate_outcome_apply(OLD.candidate_id, -1);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION candidate_outcome_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'candidates' THEN
        PERFORM candidate_outcome_apply(NEW.id, 1);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM candidate_outcome_apply(NEW.candidate_id, -1, NEW.id);
        PERFORM candidate_outcome_apply(NEW.candidate_id, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM candidate_outcome_apply(OLD.candidate_id, 1);
    ELSE
        PERFORM candidate_outcome_apply(NEW.candidate_id, 1);
        IF NEW.candidate_id <> OLD.candidate_id THEN
            PERFORM candidate_outcome_apply(OLD.candidate_id, 1);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

-- A verdict's insert, change or removal can change its candidate's latest
-- verdict.
CREATE TRIGGER validation_results_outcome_before
    BEFORE UPDATE OR DELETE ON validation_results
    FOR EACH ROW EXECUTE FUNCTION candidate_outcome_subtract();
CREATE TRIGGER validation_results_outcome_after
    AFTER INSERT OR UPDATE OR DELETE ON validation_results
    FOR EACH ROW EXECUTE FUNCTION candidate_outcome_add();

-- Candidates: only changes that can move the contribution fire (validated →
-- selected/discarded does not, so delivery does not touch the counters).
CREATE TRIGGER candidates_outcome_before_update
    BEFORE UPDATE ON candidates
    FOR EACH ROW
    WHEN ((OLD.status IN ('filtered', 'failed')) IS DISTINCT FROM (NEW.status IN ('filtered', 'failed'))
       OR (OLD.status IN ('validated', 'selected', 'discarded')) IS DISTINCT FROM (NEW.status IN ('validated', 'selected', 'discarded'))
       OR OLD.failure_reason IS DISTINCT FROM NEW.failure_reason
       OR OLD.cost_usd IS DISTINCT FROM NEW.cost_usd
       OR OLD.provider IS DISTINCT FROM NEW.provider
       OR OLD.model IS DISTINCT FROM NEW.model)
    EXECUTE FUNCTION candidate_outcome_subtract();
CREATE TRIGGER candidates_outcome_after_update
    AFTER UPDATE ON candidates
    FOR EACH ROW
    WHEN ((OLD.status IN ('filtered', 'failed')) IS DISTINCT FROM (NEW.status IN ('filtered', 'failed'))
       OR (OLD.status IN ('validated', 'selected', 'discarded')) IS DISTINCT FROM (NEW.status IN ('validated', 'selected', 'discarded'))
       OR OLD.failure_reason IS DISTINCT FROM NEW.failure_reason
       OR OLD.cost_usd IS DISTINCT FROM NEW.cost_usd
       OR OLD.provider IS DISTINCT FROM NEW.provider
       OR OLD.model IS DISTINCT FROM NEW.model)
    EXECUTE FUNCTION candidate_outcome_add();
CREATE TRIGGER candidates_outcome_after_insert
    AFTER INSERT ON candidates
    FOR EACH ROW
    WHEN (NEW.status NOT IN ('planned', 'stored'))
    EXECUTE FUNCTION candidate_outcome_add();
CREATE TRIGGER candidates_outcome_before_delete
    BEFORE DELETE ON candidates
    FOR EACH ROW EXECUTE FUNCTION candidate_outcome_subtract();

---- create above / drop below ----

DROP TRIGGER candidates_outcome_before_delete ON candidates;
DROP TRIGGER candidates_outcome_after_insert ON candidates;
DROP TRIGGER candidates_outcome_after_update ON candidates;
DROP TRIGGER candidates_outcome_before_update ON candidates;
DROP TRIGGER validation_results_outcome_after ON validation_results;
DROP TRIGGER validation_results_outcome_before ON validation_results;
DROP FUNCTION candidate_outcome_add();
DROP FUNCTION candidate_outcome_subtract();
DROP FUNCTION candidate_outcome_apply(uuid, integer, uuid);
DROP TABLE provider_failure_reasons;
DROP TABLE provider_outcomes;
