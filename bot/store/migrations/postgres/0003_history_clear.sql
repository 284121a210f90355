-- /history-clear hides a finished job and scrubs its private content instead of
-- deleting it: what quotas and spend reports count must outlive a clear. History
-- reads the rows not cleared; the daily quota counts charged rows (see
-- bot.domain.is_charged), cleared or not. jobs_charged's status and request_id only
-- make it covering: the daily count never reads rows.

ALTER TABLE jobs ADD COLUMN cleared_at DOUBLE PRECISION;

CREATE INDEX jobs_history ON jobs (user_id, created_at DESC, id DESC)
    WHERE cleared_at IS NULL;

CREATE INDEX jobs_active_by_user ON jobs (user_id) WHERE status NOT IN ('delivered', 'cancelled', 'failed', 'timed_out', 'lost');

CREATE INDEX jobs_charged ON jobs (user_id, created_at, status, request_id) WHERE NOT (status = 'cancelled' OR (status = 'failed' AND request_id IS NULL));
