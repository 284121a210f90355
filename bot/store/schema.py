"""The SQL fragments that must match the schema's partial indexes, and the copied tables.

SQLite uses a partial index only when a query repeats its WHERE word for word, so
each fragment below is written word for word in its index's migration (both
dialects) and spliced into the queries (tests check it).
"""

from __future__ import annotations

# What `python -m bot migrate-to-postgres` copies, each table with its key (the order).
# A new table goes here too (tests/bot/store/test_store_migrate.py checks it is).
COPIED_TABLES = {
    "jobs": "id",
    "guild_settings": "guild_id",
    "bot_state": "key",
    "user_settings": "user_id",
}


# Word for word the WHERE of the `jobs_active` index, or SQLite will not use that
# index (tests check it matches FINAL_STATUSES).
ACTIVE_SQL = "status NOT IN ('delivered', 'cancelled', 'failed', 'timed_out', 'lost')"
# `bot.domain.is_charged` in SQL; word for word the WHERE of the `jobs_charged` index.
CHARGED_SQL = "NOT (status = 'cancelled' OR (status = 'failed' AND request_id IS NULL))"
SHOWN_SQL = "cleared_at IS NULL"  # the `jobs_history` index's WHERE
# What a clear keeps of the image: the JSON column stays a valid ImageFacts.
SCRUBBED_IMAGE = '{"filename": "", "format": "", "width": 0, "height": 0, "size_bytes": 0}'
# Jobs the bot's server install started (`bot.domain.Reach.CHANNEL`): what a server counts.
SERVERS_OWN_SQL = "reach = 'channel'"
FINISHED_SQL = "status IN ('completed', 'delivered')"  # the `jobs_by_kind` index's WHERE
# 1 where the row matches, else 0: PostgreSQL cannot SUM a boolean, both engines sum these.
DELIVERED_1 = "CASE WHEN status = 'delivered' THEN 1 ELSE 0 END"
FAILED_1 = "CASE WHEN status IN ('failed', 'timed_out', 'lost') THEN 1 ELSE 0 END"
CANCELLED_1 = "CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END"
ACTIVE_1 = f"CASE WHEN {ACTIVE_SQL} THEN 1 ELSE 0 END"
# A set of jobs' spend for budgets: each at its cost, else at its estimate, never $0 for
# a charged job whose cost RunComfy never reported (timed out, lost).
COMMITTED_SUM = "COALESCE(SUM(COALESCE(cost, estimate_usd, 0)), 0)"
