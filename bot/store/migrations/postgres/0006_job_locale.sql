-- The server's language, kept with the job so that the public status message and
-- the delivery speak it after a restart too (no interaction is kept).

ALTER TABLE jobs ADD COLUMN locale TEXT;
