-- Samples are the latest jobs of a kind to begin (render or submit), not to finish:
-- the latest to finish of a burst are its short renders, then its long ones.

DROP INDEX jobs_by_kind;

CREATE INDEX jobs_by_kind_started
    ON jobs (resolution, duration, generate_audio, started_at DESC)
    WHERE status IN ('completed', 'delivered');

CREATE INDEX jobs_by_kind_submitted
    ON jobs (resolution, duration, generate_audio, submitted_at DESC)
    WHERE status IN ('completed', 'delivered');
