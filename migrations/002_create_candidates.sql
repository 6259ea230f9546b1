-- Candidates: one row per generated image attempt, with its state in real
-- columns (planned → stored → validated → selected/discarded, or filtered /
-- failed), never in a JSON blob that a later write replaces.
CREATE TABLE candidates (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    generation_id  uuid NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    round          integer NOT NULL CHECK (round >= 1),
    index          integer NOT NULL CHECK (index >= 0),
    provider       text NOT NULL CHECK (provider <> ''),
    model          text NOT NULL DEFAULT '',
    prompt         text NOT NULL,
    negative_prompt text NOT NULL DEFAULT '',
    modifiers      text[] NOT NULL DEFAULT '{}',
    seed           bigint NOT NULL,
    status         text NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'stored', 'filtered', 'failed', 'validated', 'selected', 'discarded')),
    failure_reason text,
    -- Deterministic: generations/{gen}/{round}/{index}.{ext}.
    object_key     text,
    content_type   text,
    width          integer CHECK (width > 0),
    height         integer CHECK (height > 0),
    bytes          integer CHECK (bytes >= 0),
    cost_usd       numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    latency_ms     integer CHECK (latency_ms >= 0),
    rank           integer CHECK (rank >= 1),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT candidates_generation_round_index UNIQUE (generation_id, round, index),
    -- An image that was stored keeps its key through validation and selection.
    CONSTRAINT candidates_stored_has_object_key CHECK (
        status IN ('planned', 'filtered', 'failed') OR object_key IS NOT NULL),
    -- Only delivered images have a rank.
    CONSTRAINT candidates_rank_only_selected CHECK ((rank IS NOT NULL) = (status = 'selected'))
);

CREATE INDEX candidates_provider_status_idx ON candidates (provider, model, status);

CREATE TRIGGER candidates_set_updated_at
    BEFORE UPDATE ON candidates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

---- create above / drop below ----

DROP TABLE candidates;
