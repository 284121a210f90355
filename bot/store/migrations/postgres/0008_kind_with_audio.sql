-- A job's kind includes audio (it about doubles the render): ETA samples filter on it.

DROP INDEX jobs_by_kind;

CREATE INDEX jobs_by_kind ON jobs (resolution, duration, generate_audio, finished_at DESC) WHERE status IN ('completed', 'delivered');
