-- Per-user limits and one live rating per (user, image).
--
-- rating_requests is a sliding log of each user's rating requests, so that
-- "30 per minute" holds across every API instance (ratings reach the
-- database only later, through the queue, so they cannot be counted there).
CREATE TABLE rating_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      text NOT NULL,
    requested_at timestamptz NOT NULL
);

CREATE INDEX rating_requests_user_idx ON rating_requests (user_id, requested_at);

-- A user's rating of an image has one event id per (user, image); a newer
-- rating replaces the row and clears processed_at, and the fold adds the
-- difference between the row's new contribution and what it folded before
-- (folded_passes, folded_failures: NULL until first folded). So a re-rating
-- replaces the old one in attribute_stats instead of adding to it.
ALTER TABLE rlhf_feedback
    ADD COLUMN folded_passes double precision,
    ADD COLUMN folded_failures double precision;

---- create above / drop below ----

ALTER TABLE rlhf_feedback DROP COLUMN folded_failures, DROP COLUMN folded_passes;
DROP TABLE rating_requests;
