-- The pass-rate posterior Beta(α, β) the latest round of a generation was
-- planned with (NULL for a plan made without the planner).
ALTER TABLE generations
    ADD COLUMN posterior_alpha double precision CHECK (posterior_alpha > 0),
    ADD COLUMN posterior_beta  double precision CHECK (posterior_beta > 0);

---- create above / drop below ----

ALTER TABLE generations DROP COLUMN posterior_beta, DROP COLUMN posterior_alpha;
