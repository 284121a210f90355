"""/history and /history-clear: each user's own jobs, privately."""

from cogs.history.cog import History, setup

__all__ = ["History", "setup"]
