-- Feedback: one row per learning signal about one candidate. event_id is
-- deterministic upstream, so a redelivered or re-published event is stored
-- once (INSERT … ON CONFLICT (event_id) DO NOTHING).
--
-- generation_id and candidate_id carry no foreign keys on purpose: this is
-- an event log fed by a queue, and an event about a deleted generation must
-- be stored (or ignored), not bounce between the queue and its DLQ.
CREATE TABLE rlhf_feedback (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    generation_id   uuid NOT NULL,
    candidate_id    uuid,
    provider        text NOT NULL CHECK (provider <> ''),
    model           text NOT NULL DEFAULT '',
    feedback_type   text NOT NULL
        CHECK (feedback_type IN ('selected', 'discarded', 'failed', 'filtered', 'high_quality', 'user_rating')),
    feedback_source text NOT NULL
        CHECK (feedback_source IN ('validation_filter', 'validation_trigger', 'user_action', 'generation')),
    -- The absolute outcome: false when filtered, errored or below the pass
    -- threshold; NULL when the event says nothing about it (a user rating).
    -- Never "not in the top N".
    passed          boolean,
    quality_score   numeric(5, 2) CHECK (quality_score BETWEEN 0 AND 100),
    is_negative     boolean NOT NULL DEFAULT false,
    is_positive     boolean NOT NULL DEFAULT false,
    weight          double precision NOT NULL DEFAULT 1 CHECK (weight >= 0),
    prompt          text NOT NULL DEFAULT '',
    modifiers       text[] NOT NULL DEFAULT '{}',
    reasons         text[] NOT NULL DEFAULT '{}',
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- NULL until the learner has folded the row into attribute_stats.
    processed_at    timestamptz,
    CONSTRAINT rlhf_feedback_one_label CHECK (NOT (is_negative AND is_positive))
);

CREATE INDEX rlhf_feedback_unprocessed_idx ON rlhf_feedback (id) WHERE processed_at IS NULL;
CREATE INDEX rlhf_feedback_provider_created_idx ON rlhf_feedback (provider, created_at DESC);
CREATE INDEX rlhf_feedback_generation_idx ON rlhf_feedback (generation_id);

-- Negative examples, newest first, with what the candidate row knows.
CREATE VIEW rlhf_negative_examples AS
SELECT f.event_id,
       f.generation_id,
       f.candidate_id,
       f.provider,
       f.model,
       f.feedback_type,
       f.feedback_source,
       c.object_key,
       COALESCE(NULLIF(f.prompt, ''), c.prompt, g.base_prompt, '') AS prompt,
       CASE WHEN cardinality(f.modifiers) > 0 THEN f.modifiers
            ELSE COALESCE(c.modifiers, '{}') END AS modifiers,
       f.reasons,
       f.quality_score AS score,
       f.weight,
       c.status AS candidate_status,
       g.user_id,
       f.created_at
FROM rlhf_feedback f
LEFT JOIN candidates c ON c.id = f.candidate_id
LEFT JOIN generations g ON g.id = f.generation_id
WHERE f.is_negative
ORDER BY f.created_at DESC, f.id DESC;

-- Positive examples, newest first.
CREATE VIEW rlhf_positive_examples AS
SELECT f.event_id,
       f.generation_id,
       f.candidate_id,
       f.provider,
       f.model,
       f.feedback_type,
       f.feedback_source,
       c.object_key,
       COALESCE(NULLIF(f.prompt, ''), c.prompt, g.base_prompt, '') AS prompt,
       CASE WHEN cardinality(f.modifiers) > 0 THEN f.modifiers
            ELSE COALESCE(c.modifiers, '{}') END AS modifiers,
       f.reasons,
       f.quality_score AS score,
       f.weight,
       c.status AS candidate_status,
       g.user_id,
       f.created_at
FROM rlhf_feedback f
LEFT JOIN candidates c ON c.id = f.candidate_id
LEFT JOIN generations g ON g.id = f.generation_id
WHERE f.is_positive
ORDER BY f.created_at DESC, f.id DESC;

-- Counts and average score per provider × type × source.
CREATE VIEW rlhf_feedback_summary AS
SELECT provider,
       feedback_type,
       feedback_source,
       count(*)                                       AS total,
       count(*) FILTER (WHERE is_negative)            AS negatives,
       count(*) FILTER (WHERE is_positive)            AS positives,
       count(*) FILTER (WHERE passed)                 AS passes,
       count(*) FILTER (WHERE NOT passed)             AS failures,
       count(*) FILTER (WHERE processed_at IS NULL)   AS unprocessed,
       round(avg(quality_score), 2)                   AS avg_score,
       max(created_at)                                AS last_created_at
FROM rlhf_feedback
GROUP BY provider, feedback_type, feedback_source;

-- A validation that scores ≥ 85 (and passed) is a positive example. The
-- event id is derived from (candidate, validator version), so however often
-- the validation row is inserted or updated there is exactly one such row
-- (the earlier system wrote one per status update).
CREATE FUNCTION validation_high_quality_feedback() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.score >= 85 AND NEW.passed THEN
        INSERT INTO rlhf_feedback (
            event_id, generation_id, candidate_id, provider, model,
            feedback_type, feedback_source, passed, quality_score,
            is_positive, weight, prompt, modifiers, reasons, metadata)
        SELECT md5('high_quality:' || NEW.candidate_id::text || ':' || NEW.validator_version)::uuid,
               c.generation_id, c.id, c.provider, c.model,
               'high_quality', 'validation_trigger', true, NEW.score,
               true, 1, c.prompt, c.modifiers, NEW.reasons,
               jsonb_build_object('validator_version', NEW.validator_version)
        FROM candidates c
        WHERE c.id = NEW.candidate_id
        ON CONFLICT (event_id) DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER validation_results_high_quality
    AFTER INSERT OR UPDATE ON validation_results
    FOR EACH ROW EXECUTE FUNCTION validation_high_quality_feedback();

-- Training rows newest first, for one provider (NULL: all) since a time
-- (NULL: ever), at most p_limit.
CREATE FUNCTION get_rlhf_training_data(
    p_provider text,
    p_limit integer DEFAULT 1000,
    p_since timestamptz DEFAULT NULL)
RETURNS TABLE (
    event_id      uuid,
    generation_id uuid,
    candidate_id  uuid,
    provider      text,
    model         text,
    feedback_type text,
    label         text,
    weight        double precision,
    quality_score numeric,
    prompt        text,
    modifiers     text[],
    reasons       text[],
    created_at    timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT f.event_id,
           f.generation_id,
           f.candidate_id,
           f.provider,
           f.model,
           f.feedback_type,
           CASE WHEN f.is_positive THEN 'positive'
                WHEN f.is_negative THEN 'negative'
                ELSE 'neutral' END,
           f.weight,
           f.quality_score,
           COALESCE(NULLIF(f.prompt, ''), c.prompt, ''),
           CASE WHEN cardinality(f.modifiers) > 0 THEN f.modifiers
                ELSE COALESCE(c.modifiers, '{}') END,
           f.reasons,
           f.created_at
    FROM rlhf_feedback f
    LEFT JOIN candidates c ON c.id = f.candidate_id
    WHERE (p_provider IS NULL OR f.provider = p_provider)
      AND (p_since IS NULL OR f.created_at >= p_since)
    ORDER BY f.created_at DESC, f.id DESC
    LIMIT GREATEST(COALESCE(p_limit, 1000), 0);
$$;

---- create above / drop below ----

DROP FUNCTION get_rlhf_training_data(text, integer, timestamptz);
DROP TRIGGER validation_results_high_quality ON validation_results;
DROP FUNCTION validation_high_quality_feedback();
DROP VIEW rlhf_feedback_summary;
DROP VIEW rlhf_positive_examples;
DROP VIEW rlhf_negative_examples;
DROP TABLE rlhf_feedback;
