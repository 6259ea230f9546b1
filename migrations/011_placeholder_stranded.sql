-- Placeholder so that 012 applies on the stranded branch alone (tern refuses
-- a gap). The lead replaces it with the real 011 when merging.
SELECT 1;

---- create above / drop below ----

SELECT 1;
