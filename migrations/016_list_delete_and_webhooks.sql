-- What a studio's client needs (issue 16): listing a user's generations by
-- keyset, deleting one, knowing that a reused Idempotency-Key carried a
-- different request, and being told when a generation is final.

-- request_fingerprint: SHA-256 (hex) over the request as the client sent it
-- (its settings, canonicalised, and the reference image's bytes), so that the
-- same Idempotency-Key with another request is a 409, never the first
-- generation passed off as the answer. NULL for rows created before.
-- deleted_at: the owner deleted the generation. Its user content (prompts,
-- images, rating text) is erased; the row stays as a tombstone, because its
-- counts and cost are the user's daily usage and its candidates' outcomes
-- the learner's and the planner's statistics.
ALTER TABLE generations
    ADD COLUMN request_fingerprint text,
    ADD COLUMN deleted_at timestamptz;

-- GET /v1/generations: newest first, keyset on (created_at, id).
CREATE INDEX generations_user_list_idx ON generations (user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

-- The webhook outbox: one row per generation that asked for a notification
-- (settings.webhookUrl), inserted by the trigger below in the transaction
-- that makes the generation final, whichever path does (Deliver, MarkFailed,
-- the execution-status handler, the stall sweeper). body is fixed then, so
-- every attempt sends the same bytes.
CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    generation_id   uuid NOT NULL UNIQUE REFERENCES generations (id) ON DELETE CASCADE,
    url             text NOT NULL CHECK (url LIKE 'https://%' OR url LIKE 'http://%'),
    body            jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the next attempt is due; a claim pushes it out by a lease, so two
    -- drivers never send the same row at once and a driver that dies
    -- mid-attempt leaves it due again after the lease.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TRIGGER webhook_deliveries_set_updated_at
    BEFORE UPDATE ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Every attempt, as it went: the receiver's status code or the error.
CREATE TABLE webhook_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      integer NOT NULL CHECK (attempt >= 1),
    attempted_at timestamptz NOT NULL,
    status_code  integer,
    error        text NOT NULL DEFAULT '',
    duration_ms  integer NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    CONSTRAINT webhook_attempts_delivery_attempt UNIQUE (delivery_id, attempt)
);

CREATE FUNCTION enqueue_generation_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('delivered', 'delivered_below_threshold', 'partial', 'failed')
       AND OLD.status NOT IN ('delivered', 'delivered_below_threshold', 'partial', 'failed')
       AND COALESCE(NEW.settings ->> 'webhookUrl', '') <> '' THEN
        INSERT INTO webhook_deliveries (generation_id, url, body)
        VALUES (NEW.id, NEW.settings ->> 'webhookUrl', jsonb_build_object(
            'type', 'generation.completed',
            'generationId', NEW.id,
            'status', NEW.status,
            'requestedCount', NEW.requested_count,
            'deliveredCount', NEW.delivered_count,
            'costUsd', NEW.cost_usd::float8,
            'completedAt', NEW.completed_at,
            'links', jsonb_build_object('self', '/v1/generations/' || NEW.id)))
        ON CONFLICT (generation_id) DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER generations_enqueue_webhook
    AFTER UPDATE OF status ON generations
    FOR EACH ROW EXECUTE FUNCTION enqueue_generation_webhook();

-- A rating still on the queue when its generation is deleted reaches the
-- learner afterwards: its weight is kept (the statistics stay), its text is
-- not, as DeleteGeneration erased the rows already there. (Only writes of
-- those columns fire it: the fold's updates of processed_at do not.)
CREATE FUNCTION erase_feedback_of_deleted_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM generations WHERE id = NEW.generation_id AND deleted_at IS NOT NULL) THEN
        NEW.prompt := '';
        IF NEW.feedback_type = 'user_rating' THEN
            NEW.reasons := '{}';
            NEW.metadata := '{}';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER rlhf_feedback_erase_deleted
    BEFORE INSERT OR UPDATE OF prompt, reasons, metadata ON rlhf_feedback
    FOR EACH ROW EXECUTE FUNCTION erase_feedback_of_deleted_generation();

---- create above / drop below ----

DROP TRIGGER rlhf_feedback_erase_deleted ON rlhf_feedback;
DROP FUNCTION erase_feedback_of_deleted_generation();

DROP TRIGGER generations_enqueue_webhook ON generations;
DROP FUNCTION enqueue_generation_webhook();
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP INDEX generations_user_list_idx;
ALTER TABLE generations DROP COLUMN deleted_at, DROP COLUMN request_fingerprint;
