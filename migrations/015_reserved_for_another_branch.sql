-- Placeholder: migration 15 belongs to another branch that is being written
-- at the same time as 016. tern refuses a gap in the numbering, so this
-- empty step keeps 016 applicable on its own. DELETE THIS FILE when the
-- branch that owns 015 is merged (tern would report "Duplicate migration 15").
SELECT 1;

---- create above / drop below ----

SELECT 1;
