-- Validation results: one verdict per (candidate, validator version), on the
-- one 0–100 scale. Re-validating with the same version never adds a row.
CREATE TABLE validation_results (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    candidate_id      uuid NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    validator_version text NOT NULL CHECK (validator_version <> ''),
    score             numeric(5, 2) NOT NULL CHECK (score BETWEEN 0 AND 100),
    passed            boolean NOT NULL,
    flagged           boolean NOT NULL DEFAULT false,
    metrics           jsonb NOT NULL DEFAULT '{}',
    reasons           text[] NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT validation_results_candidate_version UNIQUE (candidate_id, validator_version)
);

---- create above / drop below ----

DROP TABLE validation_results;
