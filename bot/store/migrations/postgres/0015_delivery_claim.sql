-- Who posts a completed job's video: the process (its PROCESS_ID) that claimed the
-- delivery, until delivering_until (epoch seconds), renewed while it posts. Of two
-- processes tracking one job (one stalled past its lease) only the claimant posts; the
-- claim of a process that died lapses and another posts. No index: a claim is by id.

ALTER TABLE jobs ADD COLUMN delivering_by TEXT;

ALTER TABLE jobs ADD COLUMN delivering_until DOUBLE PRECISION;
