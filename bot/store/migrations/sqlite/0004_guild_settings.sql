-- Per-server admin settings (/admin), and the server's jobs by time for its spend
-- cap and usage report.

CREATE TABLE guild_settings (
    guild_id INTEGER PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0,
    pause_reason TEXT,
    allowed_channels TEXT NOT NULL DEFAULT '[]',
    user_concurrent INTEGER,
    user_daily INTEGER,
    daily_spend_cap_usd REAL,
    updated_by INTEGER,
    updated_at REAL
);

CREATE INDEX jobs_by_guild ON jobs (guild_id, created_at);
