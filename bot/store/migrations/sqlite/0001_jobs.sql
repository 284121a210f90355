-- The jobs table. Options are flattened into columns (ETA queries filter on them);
-- the input image facts are one JSON column (only ever read whole).

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER,
    status_message_id INTEGER,
    request_id TEXT UNIQUE,
    status TEXT NOT NULL,
    prompt TEXT NOT NULL,
    resolution TEXT NOT NULL,
    ratio TEXT NOT NULL,
    duration INTEGER NOT NULL,
    generate_audio INTEGER NOT NULL,
    camera_fixed INTEGER NOT NULL,
    image_json TEXT NOT NULL,
    image_url TEXT,
    queue_position INTEGER,
    error TEXT,
    video_url TEXT,
    cost REAL,
    delivered_channel_id INTEGER,
    delivered_message_id INTEGER,
    created_at REAL NOT NULL,
    submitted_at REAL,
    started_at REAL,
    finished_at REAL,
    delivered_at REAL
);

-- "A user's jobs, newest first" (/history, per-user quotas).
CREATE INDEX jobs_by_user ON jobs (user_id, created_at DESC, id DESC);

-- "Jobs not final" (resume at start, global quota): few rows, so partial.
CREATE INDEX jobs_active ON jobs (created_at)
    WHERE status NOT IN ('delivered', 'cancelled', 'failed', 'timed_out', 'lost');

-- Cancel by reaction finds the job from its status message.
CREATE INDEX jobs_by_status_message ON jobs (status_message_id)
    WHERE status_message_id IS NOT NULL;

-- ETA: recent finished jobs of one kind.
CREATE INDEX jobs_by_kind ON jobs (resolution, duration, finished_at DESC)
    WHERE status = 'delivered';
