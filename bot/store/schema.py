"""The schema: numbered migrations, and the SQL fragments that must match its indexes.

SQLite uses a partial index only when a query repeats its WHERE word for word, so
each fragment below is spliced into both the index and the queries (tests check it).
"""

from __future__ import annotations

# Numbered migrations: after migration N has run, `PRAGMA user_version` is N.
# Never edit one that has shipped; append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the jobs table. Options are flattened into columns (ETA queries filter on
    # them); the input image facts are one JSON column (only ever read whole).
    (
        """
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
        )
        """,
        # "A user's jobs, newest first" (/history, per-user quotas).
        "CREATE INDEX jobs_by_user ON jobs (user_id, created_at DESC, id DESC)",
        # "Jobs not final" (resume at start, global quota): few rows, so partial.
        """
        CREATE INDEX jobs_active ON jobs (created_at)
            WHERE status NOT IN ('delivered', 'cancelled', 'failed', 'timed_out', 'lost')
        """,
        # Cancel by reaction finds the job from its status message.
        """
        CREATE INDEX jobs_by_status_message ON jobs (status_message_id)
            WHERE status_message_id IS NOT NULL
        """,
        # ETA: recent finished jobs of one kind.
        """
        CREATE INDEX jobs_by_kind ON jobs (resolution, duration, finished_at DESC)
            WHERE status = 'delivered'
        """,
    ),
    # 2: ETA samples include jobs completed but not (yet, or ever) delivered: the
    # render time is the same whether or not the upload to Discord worked.
    (
        "DROP INDEX jobs_by_kind",
        """
        CREATE INDEX jobs_by_kind ON jobs (resolution, duration, finished_at DESC)
            WHERE status IN ('completed', 'delivered')
        """,
    ),
    # 3: /history-clear hides a finished job and scrubs its private content instead
    # of deleting it: what quotas and spend reports count must outlive a clear.
    # History reads the rows not cleared; the daily quota counts charged rows
    # (see `bot.domain.is_charged`), cleared or not.
    (
        "ALTER TABLE jobs ADD COLUMN cleared_at REAL",
        """
        CREATE INDEX jobs_history ON jobs (user_id, created_at DESC, id DESC)
            WHERE cleared_at IS NULL
        """,
        # "A user's jobs not final" (concurrent quota): a few rows per user, not all of them.
        """
        CREATE INDEX jobs_active_by_user ON jobs (user_id)
            WHERE status NOT IN ('delivered', 'cancelled', 'failed', 'timed_out', 'lost')
        """,
        # status and request_id only make it covering: the daily count never reads rows.
        """
        CREATE INDEX jobs_charged ON jobs (user_id, created_at, status, request_id)
            WHERE NOT (status = 'cancelled' OR (status = 'failed' AND request_id IS NULL))
        """,
    ),
    # 4: per-server admin settings (/admin), and the server's jobs by time for its
    # spend cap and usage report.
    (
        """
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
        )
        """,
        "CREATE INDEX jobs_by_guild ON jobs (guild_id, created_at)",
    ),
    # 5: the video as the service made it (its size) and, when the bot re-encoded it
    # to play inline or fit the upload limit, the size of the copy it posted; when the
    # delivered video was extended (Extend claims it once, so one press makes one job),
    # and which job an extension continues (for Join).
    (
        "ALTER TABLE jobs ADD COLUMN video_bytes INTEGER",
        "ALTER TABLE jobs ADD COLUMN posted_video_bytes INTEGER",
        "ALTER TABLE jobs ADD COLUMN extended_at REAL",
        "ALTER TABLE jobs ADD COLUMN extends_job_id INTEGER",
    ),
    # 6: the server's language, kept with the job so that the public status message
    # and the delivery speak it after a restart too (no interaction is kept).
    ("ALTER TABLE jobs ADD COLUMN locale TEXT",),
    # 7: leases, for several processes on one PostgreSQL: the process tracking an
    # active job (`owner`, its PROCESS_ID) holds it until `lease_until` (epoch
    # seconds) and renews it while alive; an expired lease may be claimed by another.
    # No index: claims and renewals read the small `jobs_active` index.
    (
        "ALTER TABLE jobs ADD COLUMN owner TEXT",
        "ALTER TABLE jobs ADD COLUMN lease_until REAL",
    ),
    # 8: a job's kind includes audio (it about doubles the render), so ETA and
    # polling samples filter on it too.
    (
        "DROP INDEX jobs_by_kind",
        """
        CREATE INDEX jobs_by_kind
            ON jobs (resolution, duration, generate_audio, finished_at DESC)
            WHERE status IN ('completed', 'delivered')
        """,
    ),
    # 9: samples are the latest jobs of a kind to *begin* (render or submit), not to
    # finish: the latest to finish of a burst are its short renders, then its long ones.
    (
        "DROP INDEX jobs_by_kind",
        """
        CREATE INDEX jobs_by_kind_started
            ON jobs (resolution, duration, generate_audio, started_at DESC)
            WHERE status IN ('completed', 'delivered')
        """,
        """
        CREATE INDEX jobs_by_kind_submitted
            ON jobs (resolution, duration, generate_audio, submitted_at DESC)
            WHERE status IN ('completed', 'delivered')
        """,
    ),
    # 10: what the bot keeps between starts besides jobs (the synced command tree's
    # hash, the models' last good schemas), one JSON or text value per key.
    ("CREATE TABLE bot_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL)",),
    # 11: the language a server's admins chose for public messages (/admin language);
    # NULL: automatic (see bot.languages).
    ("ALTER TABLE guild_settings ADD COLUMN language TEXT",),
)


# What `python -m bot migrate-to-postgres` copies, each table with its key (the order).
# A new table goes here too (tests/test_store_migrate.py checks every table is listed).
COPIED_TABLES = {"jobs": "id", "guild_settings": "guild_id", "bot_state": "key"}


# Word for word the WHERE of the `jobs_active` index, or SQLite will not use that
# index (tests check it matches FINAL_STATUSES).
ACTIVE_SQL = "status NOT IN ('delivered', 'cancelled', 'failed', 'timed_out', 'lost')"
# `bot.domain.is_charged` in SQL; word for word the WHERE of the `jobs_charged` index.
CHARGED_SQL = "NOT (status = 'cancelled' OR (status = 'failed' AND request_id IS NULL))"
SHOWN_SQL = "cleared_at IS NULL"  # the `jobs_history` index's WHERE
# What a clear keeps of the image: the JSON column stays a valid ImageFacts.
SCRUBBED_IMAGE = '{"filename": "", "format": "", "width": 0, "height": 0, "size_bytes": 0}'
FINISHED_SQL = "status IN ('completed', 'delivered')"  # the `jobs_by_kind` index's WHERE
# 1 where the row matches, else 0: PostgreSQL cannot SUM a boolean, both engines sum these.
DELIVERED_1 = "CASE WHEN status = 'delivered' THEN 1 ELSE 0 END"
FAILED_1 = "CASE WHEN status IN ('failed', 'timed_out', 'lost') THEN 1 ELSE 0 END"
CANCELLED_1 = "CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END"
ACTIVE_1 = f"CASE WHEN {ACTIVE_SQL} THEN 1 ELSE 0 END"
