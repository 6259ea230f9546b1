-- Placeholder so that 013 applies on the learnerbounds branch alone (tern
-- refuses a gap). The lead replaces it with the real migration when merging.
SELECT 1;

---- create above / drop below ----

SELECT 1;
