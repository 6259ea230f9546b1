-- errored: a candidate whose attempt failed for a reason that says nothing
-- about its prompt or provider (a database, object store or Lambda failure
-- that outlived the state machine's retries, a bug), as the Map's Catch
-- records it. It is no outcome: candidate_outcome_apply (008) counts only
-- filtered, failed and verdicts, so the provider outcome counters and the
-- posteriors skip it; Deliver writes no feedback for it; it keeps no image.
ALTER TABLE candidates DROP CONSTRAINT candidates_status_check;
ALTER TABLE candidates ADD CONSTRAINT candidates_status_check
    CHECK (status IN ('planned', 'stored', 'filtered', 'failed', 'errored', 'validated', 'selected', 'discarded'));
ALTER TABLE candidates DROP CONSTRAINT candidates_stored_has_object_key;
ALTER TABLE candidates ADD CONSTRAINT candidates_stored_has_object_key CHECK (
    status IN ('planned', 'filtered', 'failed', 'errored') OR object_key IS NOT NULL);

-- Backfill: the Catch stored "<ErrorName>: <cause>" as a failure; provider
-- outcomes are stored as "<kind>: <reason>" in lower case. The update fires
-- the 008 triggers, which take those candidates out of the counters. Their
-- feedback rows not yet folded are removed; rows already folded stay in
-- attribute_stats, whose discounting fades them.
UPDATE candidates
SET status = 'errored', object_key = NULL
WHERE status = 'failed'
  AND failure_reason ~ '^(DependencyUnavailable|InternalError|ProviderThrottled|ProviderUnavailable|InvalidRequest|NotFound|Conflict|Unknown|Lambda\.|States\.)';
DELETE FROM rlhf_feedback f
USING candidates c
WHERE f.candidate_id = c.id AND c.status = 'errored' AND f.processed_at IS NULL;

---- create above / drop below ----

UPDATE candidates SET status = 'failed' WHERE status = 'errored';
ALTER TABLE candidates DROP CONSTRAINT candidates_stored_has_object_key;
ALTER TABLE candidates ADD CONSTRAINT candidates_stored_has_object_key CHECK (
    status IN ('planned', 'filtered', 'failed') OR object_key IS NOT NULL);
ALTER TABLE candidates DROP CONSTRAINT candidates_status_check;
ALTER TABLE candidates ADD CONSTRAINT candidates_status_check
    CHECK (status IN ('planned', 'stored', 'filtered', 'failed', 'validated', 'selected', 'discarded'));
