-- Per-candidate planning and a recency-discounted provider posterior.
--
-- predicted_pass is the pass probability the plan predicted for the
-- candidate (its posterior mean; NULL: planned without a planner), so that
-- predictions can be checked against outcomes (calibration).
-- exploration_cost is what the chooser knowingly spent exploring with the
-- candidate, in expected images per delivered image over the best-known
-- modifiers (0: exploited).
ALTER TABLE candidates
    ADD COLUMN predicted_pass double precision CHECK (predicted_pass BETWEEN 0 AND 1),
    ADD COLUMN exploration_cost double precision NOT NULL DEFAULT 0 CHECK (exploration_cost >= 0);

-- The planner discounts a provider/model's outcomes by age (the k-th most
-- recent counts 2^(−k/h)): ProviderStats reads the most recent ones through
-- this index, a bounded number whatever the size of the history.
CREATE INDEX candidates_provider_recent_idx
    ON candidates (provider, model, created_at DESC, generation_id DESC, round DESC, index DESC);

-- The learner's chooser fits its model of the modifiers' effects on a
-- provider's most recent outcomes (RecentOutcomes), whatever the model.
CREATE INDEX candidates_provider_latest_idx
    ON candidates (provider, created_at DESC, generation_id DESC, round DESC, index DESC);

---- create above / drop below ----

DROP INDEX candidates_provider_latest_idx;
DROP INDEX candidates_provider_recent_idx;
ALTER TABLE candidates DROP COLUMN exploration_cost, DROP COLUMN predicted_pass;
