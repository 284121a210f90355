-- A server's default model and the operator's models its members may use ('[]': all).

ALTER TABLE guild_settings ADD COLUMN default_model_id TEXT;

ALTER TABLE guild_settings ADD COLUMN allowed_models TEXT NOT NULL DEFAULT '[]';
