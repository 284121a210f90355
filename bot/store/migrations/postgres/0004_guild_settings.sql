-- Per-server admin settings (/admin), and the server's jobs by time for its spend
-- cap and usage report.

CREATE TABLE guild_settings (
    guild_id BIGINT PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0,
    pause_reason TEXT,
    allowed_channels TEXT NOT NULL DEFAULT '[]',
    user_concurrent INTEGER,
    user_daily INTEGER,
    daily_spend_cap_usd DOUBLE PRECISION,
    updated_by BIGINT,
    updated_at DOUBLE PRECISION
);

CREATE INDEX jobs_by_guild ON jobs (guild_id, created_at);
