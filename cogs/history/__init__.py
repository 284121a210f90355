"""/history and /history-clear: each user's own jobs, privately.

- `cog`: the two commands.
- `views`: the pages, a job's details, the clear question (pressable by their owner only).
- `rendering`: pages and details as embeds, in the reader's words.
"""

from cogs.history.cog import History

__all__ = ["History"]
