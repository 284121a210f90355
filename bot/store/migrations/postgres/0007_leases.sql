-- Leases, for several processes on one PostgreSQL: the process tracking an active
-- job (owner, its PROCESS_ID) holds it until lease_until (epoch seconds) and renews
-- it while alive; an expired lease may be claimed by another. No index: claims and
-- renewals read the small jobs_active index.

ALTER TABLE jobs ADD COLUMN owner TEXT;

ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION;
