-- Provider budgets: calls in flight and calls per window, per provider,
-- across every generation (each Generate invocation is its own Lambda, so
-- the only place they can agree is here). One row per provider serialises
-- acquirers (SELECT … FOR UPDATE); provider_calls is a sliding log of the
-- calls of the last window, so "60 per minute" holds in every minute, not
-- per calendar minute.
CREATE TABLE provider_budget (
    provider      text PRIMARY KEY CHECK (provider <> ''),
    -- No call starts before this (NULL: no hold): the provider asked us to
    -- wait (Retry-After), and every generation honours it.
    blocked_until timestamptz
);

CREATE TABLE provider_calls (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider    text NOT NULL REFERENCES provider_budget (provider),
    started_at  timestamptz NOT NULL,
    -- In flight until finished_at is set, or until lease_until passes (the
    -- Lambda died mid-call and never released it).
    lease_until timestamptz NOT NULL,
    finished_at timestamptz
);

CREATE INDEX provider_calls_provider_started_idx ON provider_calls (provider, started_at);

---- create above / drop below ----

DROP TABLE provider_calls;
DROP TABLE provider_budget;
