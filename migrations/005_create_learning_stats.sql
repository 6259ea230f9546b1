-- What the learner and the recalibration maintain.

-- Per-attribute (prompt modifier) discounted Beta counts. Updated only by
-- atomic upserts (x = x·(1−discount) + new), never read-modify-write.
CREATE TABLE attribute_stats (
    provider   text NOT NULL,
    attribute  text NOT NULL,
    passes     double precision NOT NULL DEFAULT 0 CHECK (passes >= 0),
    failures   double precision NOT NULL DEFAULT 0 CHECK (failures >= 0),
    -- Undiscounted number of outcome events folded in.
    samples    bigint NOT NULL DEFAULT 0 CHECK (samples >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, attribute)
);

-- Per provider and model ('' when none): absolute candidate outcomes and the
-- Beta(1+passes, 1+failures) posterior of the pass rate, recomputed on a
-- schedule. recommended_buffers and recommendations are filled by the
-- recalibration's planner.
CREATE TABLE provider_stats (
    provider            text NOT NULL,
    model               text NOT NULL DEFAULT '',
    passes              bigint NOT NULL DEFAULT 0 CHECK (passes >= 0),
    failures            bigint NOT NULL DEFAULT 0 CHECK (failures >= 0),
    alpha               double precision NOT NULL DEFAULT 1 CHECK (alpha > 0),
    beta                double precision NOT NULL DEFAULT 1 CHECK (beta > 0),
    failures_by_reason  jsonb NOT NULL DEFAULT '{}',
    recommended_buffers jsonb NOT NULL DEFAULT '{}',
    recommendations     jsonb NOT NULL DEFAULT '[]',
    computed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, model)
);

---- create above / drop below ----

DROP TABLE provider_stats;
DROP TABLE attribute_stats;
