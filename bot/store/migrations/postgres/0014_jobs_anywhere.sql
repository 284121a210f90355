-- How a job was started, for what reaches it later: the bot's own routes there or the
-- command's token alone (`reach`), who sees it (`visibility`), the upload limit Discord
-- gave with the command, and when its private video was posted to the channel (once).
-- Each user's own settings (/animate-settings): private by default or not.

ALTER TABLE jobs ADD COLUMN reach TEXT NOT NULL DEFAULT 'channel';

ALTER TABLE jobs ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';

ALTER TABLE jobs ADD COLUMN upload_limit BIGINT;

ALTER TABLE jobs ADD COLUMN shared_at DOUBLE PRECISION;

CREATE TABLE user_settings (
    user_id BIGINT PRIMARY KEY,
    private INTEGER NOT NULL DEFAULT 0,
    updated_at DOUBLE PRECISION
);
