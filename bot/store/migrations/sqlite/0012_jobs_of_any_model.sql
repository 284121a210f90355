-- A job keeps its model and what it sent: its options as the model's schema names them,
-- the exact body, its kind (the model and the options that change a render: ETA samples
-- and learned prices) and its estimate, counted against budgets until its cost is
-- known. Rows from before are Seedance 1.5 pro jobs with its five options.

ALTER TABLE jobs ADD COLUMN model_id TEXT NOT NULL DEFAULT 'bytedance/seedance-v1.5-pro/image-to-video';

ALTER TABLE jobs ADD COLUMN options_json TEXT NOT NULL DEFAULT '{}';

ALTER TABLE jobs ADD COLUMN body_json TEXT;

ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT '';

ALTER TABLE jobs ADD COLUMN estimate_usd REAL;

UPDATE jobs SET
    options_json = json_object(
        'resolution', resolution,
        'ratio', ratio,
        'duration', duration,
        'generate_audio', json(CASE generate_audio WHEN 1 THEN 'true' ELSE 'false' END),
        'camera_fixed', json(CASE camera_fixed WHEN 1 THEN 'true' ELSE 'false' END)
    ),
    kind = 'bytedance/seedance-v1.5-pro/image-to-video|resolution="' || resolution
        || '",duration=' || duration
        || ',audio=' || CASE generate_audio WHEN 1 THEN 'true' ELSE 'false' END;

DROP INDEX jobs_by_kind_started;

DROP INDEX jobs_by_kind_submitted;

ALTER TABLE jobs DROP COLUMN resolution;

ALTER TABLE jobs DROP COLUMN ratio;

ALTER TABLE jobs DROP COLUMN duration;

ALTER TABLE jobs DROP COLUMN generate_audio;

ALTER TABLE jobs DROP COLUMN camera_fixed;

CREATE INDEX jobs_by_kind_started ON jobs (kind, started_at DESC)
    WHERE status IN ('completed', 'delivered');

CREATE INDEX jobs_by_kind_submitted ON jobs (kind, submitted_at DESC)
    WHERE status IN ('completed', 'delivered');

-- Learned prices: the latest delivered costs of a kind.
CREATE INDEX jobs_costs_by_kind ON jobs (kind, finished_at DESC)
    WHERE status = 'delivered' AND cost IS NOT NULL;

-- The operator's daily spend: every job of the last day.
CREATE INDEX jobs_by_created ON jobs (created_at);
