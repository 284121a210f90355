-- The language of a server's public messages, set with /admin language (NULL: automatic).

ALTER TABLE guild_settings ADD COLUMN language TEXT;
