-- The video as the service made it (its size) and, when the bot re-encoded it, the
-- size of the copy it posted; when the delivered video was extended (Extend claims
-- it once, so one press makes one job), and which job an extension continues (Join).

ALTER TABLE jobs ADD COLUMN video_bytes INTEGER;

ALTER TABLE jobs ADD COLUMN posted_video_bytes INTEGER;

ALTER TABLE jobs ADD COLUMN extended_at REAL;

ALTER TABLE jobs ADD COLUMN extends_job_id INTEGER;
