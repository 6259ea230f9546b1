-- Generations: one user request for N images (DESIGN §4). One status
-- vocabulary, money in US dollars as numeric, completed_at always set when a
-- generation reaches a final status.

-- set_updated_at keeps updated_at honest on every UPDATE. It only touches the
-- row being written, so firing on every update is harmless.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE generations (
    id                             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                        text NOT NULL CHECK (user_id <> ''),
    status                         text NOT NULL DEFAULT 'planning'
        CHECK (status IN ('planning', 'generating', 'selecting', 'delivered',
                          'delivered_below_threshold', 'partial', 'failed')),
    requested_count                integer NOT NULL CHECK (requested_count BETWEEN 1 AND 100),
    settings                       jsonb NOT NULL DEFAULT '{}',
    provider                       text NOT NULL CHECK (provider <> ''),
    model                          text NOT NULL DEFAULT '',
    base_prompt                    text NOT NULL DEFAULT '',
    reference_key                  text,
    reference_content_type         text,
    reference_features             jsonb NOT NULL DEFAULT '{}',
    rounds                         integer NOT NULL DEFAULT 0 CHECK (rounds >= 0),
    planned_count                  integer NOT NULL DEFAULT 0 CHECK (planned_count >= 0),
    generated_count                integer NOT NULL DEFAULT 0 CHECK (generated_count >= 0),
    passed_count                   integer NOT NULL DEFAULT 0 CHECK (passed_count >= 0),
    delivered_count                integer NOT NULL DEFAULT 0
        CHECK (delivered_count >= 0 AND delivered_count <= requested_count),
    buffer_percent                 numeric(7, 2) NOT NULL DEFAULT 0 CHECK (buffer_percent >= 0),
    buffer_method                  text CHECK (buffer_method IN ('fixed', 'auto')),
    target_confidence              double precision NOT NULL DEFAULT 0.95
        CHECK (target_confidence > 0 AND target_confidence < 1),
    predicted_delivery_probability double precision
        CHECK (predicted_delivery_probability BETWEEN 0 AND 1),
    cost_usd                       numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    error                          text,
    execution_arn                  text,
    -- NULL when the client sent none; NULLs are distinct, so keyless
    -- requests never collide.
    idempotency_key                text CHECK (idempotency_key <> ''),
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now(),
    completed_at                   timestamptz,
    CONSTRAINT generations_user_idempotency_key UNIQUE (user_id, idempotency_key),
    -- The earlier system never set completed_at; here a final status cannot
    -- exist without it.
    CONSTRAINT generations_final_has_completed_at CHECK (
        status NOT IN ('delivered', 'delivered_below_threshold', 'partial', 'failed')
        OR completed_at IS NOT NULL)
);

CREATE INDEX generations_user_created_idx ON generations (user_id, created_at DESC);
CREATE INDEX generations_created_idx ON generations (created_at DESC);

CREATE TRIGGER generations_set_updated_at
    BEFORE UPDATE ON generations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

---- create above / drop below ----

DROP TABLE generations;
DROP FUNCTION set_updated_at();
