-- generations.updated_at is the generation's last progress: its own trigger
-- (001) bumps it on every generation UPDATE, and this one on every candidate
-- insert or update (a generated image, a verdict, a failure), which the
-- state machine writes far more often than the generation row. The local
-- sweeper finalises generations whose updated_at stopped moving, and the API
-- returns it as updatedAt.
CREATE FUNCTION touch_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE generations SET updated_at = now() WHERE id = NEW.generation_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER candidates_touch_generation
    AFTER INSERT OR UPDATE ON candidates
    FOR EACH ROW EXECUTE FUNCTION touch_generation();

-- The sweeper's and the resume's scan: only unfinished generations.
CREATE INDEX generations_unfinished_updated_idx ON generations (updated_at)
    WHERE status IN ('planning', 'generating', 'selecting');

---- create above / drop below ----

DROP INDEX generations_unfinished_updated_idx;
DROP TRIGGER candidates_touch_generation ON candidates;
DROP FUNCTION touch_generation();
