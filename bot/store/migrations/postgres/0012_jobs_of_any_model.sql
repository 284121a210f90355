-- A job keeps its model and what it sent (see the SQLite migration). Rows from before
-- are Seedance 1.5 pro jobs with its five options.

ALTER TABLE jobs ADD COLUMN model_id TEXT NOT NULL DEFAULT 'bytedance/seedance-v1.5-pro/image-to-video';

ALTER TABLE jobs ADD COLUMN options_json TEXT NOT NULL DEFAULT '{}';

ALTER TABLE jobs ADD COLUMN body_json TEXT;

ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT '';

ALTER TABLE jobs ADD COLUMN estimate_usd DOUBLE PRECISION;

UPDATE jobs SET
    options_json = json_build_object(
        'resolution', resolution,
        'ratio', ratio,
        'duration', duration,
        'generate_audio', generate_audio = 1,
        'camera_fixed', camera_fixed = 1
    )::text,
    kind = 'bytedance/seedance-v1.5-pro/image-to-video|resolution="' || resolution
        || '",duration=' || duration::text
        || ',audio=' || CASE generate_audio WHEN 1 THEN 'true' ELSE 'false' END;

DROP INDEX jobs_by_kind_started;

DROP INDEX jobs_by_kind_submitted;

ALTER TABLE jobs DROP COLUMN resolution, DROP COLUMN ratio, DROP COLUMN duration, DROP COLUMN generate_audio, DROP COLUMN camera_fixed;

CREATE INDEX jobs_by_kind_started ON jobs (kind, started_at DESC) WHERE status IN ('completed', 'delivered');

CREATE INDEX jobs_by_kind_submitted ON jobs (kind, submitted_at DESC) WHERE status IN ('completed', 'delivered');

CREATE INDEX jobs_costs_by_kind ON jobs (kind, finished_at DESC) WHERE status = 'delivered' AND cost IS NOT NULL;

CREATE INDEX jobs_by_created ON jobs (created_at);
