-- Validator metrics per provider and model, for the recommendations
-- (LOW_CONSISTENCY, HIGH_OUTLIER_RATE, EXCELLENT_PERFORMANCE), and the mean
-- cost of a candidate, so that maxCostUsd can bound a first round.
ALTER TABLE provider_stats
    ADD COLUMN scored        bigint NOT NULL DEFAULT 0 CHECK (scored >= 0),
    ADD COLUMN score_mean    double precision NOT NULL DEFAULT 0,
    ADD COLUMN score_stddev  double precision NOT NULL DEFAULT 0 CHECK (score_stddev >= 0),
    ADD COLUMN outliers      bigint NOT NULL DEFAULT 0 CHECK (outliers >= 0),
    ADD COLUMN mean_cost_usd double precision NOT NULL DEFAULT 0 CHECK (mean_cost_usd >= 0);

---- create above / drop below ----

ALTER TABLE provider_stats
    DROP COLUMN mean_cost_usd, DROP COLUMN outliers, DROP COLUMN score_stddev,
    DROP COLUMN score_mean, DROP COLUMN scored;
