-- What the bot keeps between starts besides jobs (the synced command tree's hash,
-- the models' last good schemas), one JSON or text value per key.

CREATE TABLE bot_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at DOUBLE PRECISION);
