-- ETA samples include jobs completed but not (yet, or ever) delivered: the render
-- time is the same whether or not the upload to Discord worked.

DROP INDEX jobs_by_kind;

CREATE INDEX jobs_by_kind ON jobs (resolution, duration, finished_at DESC) WHERE status IN ('completed', 'delivered');
