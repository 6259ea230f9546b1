-- The validator's perceptual hash of each validated image, so that the
-- Select step can find near-duplicates within a generation (the Map validates
-- candidates one at a time). NULL for images that were never decoded and for
-- verdicts stored before the column existed.
ALTER TABLE validation_results ADD COLUMN fingerprint text;

---- create above / drop below ----

ALTER TABLE validation_results DROP COLUMN fingerprint;
